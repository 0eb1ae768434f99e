#include "ims/service/jti_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../store/temp_directory.h"
#include "ims/ims_service.h"
#include "ims/store/ims_store.h"
#include "store/sqlite_database.h"

namespace portico::ims {
namespace {

using store::testing::TempDirectory;

class JtiLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = store::OpenSqlite({.path = dir_.path() / "ims.db"}).value();
    store_ = ImsStore::Open(*db_).value();
  }

  std::unique_ptr<JtiLedger> Open(size_t max_entries = 1000) {
    auto l = JtiLedger::Open(*store_, kNow, max_entries);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(*l) : nullptr;
  }

  static constexpr int64_t kNow = 1'000'000;
  TempDirectory dir_;
  std::unique_ptr<store::SqlDatabase> db_;
  std::unique_ptr<ImsStore> store_;
};

TEST_F(JtiLedgerTest, AReplayIsRefusedAtOnceAndOtherIdsAreNot) {
  auto ledger = Open();
  EXPECT_TRUE(ledger->Record("client-a", "j1", kNow + 60, kNow).ok());
  EXPECT_EQ(ledger->Record("client-a", "j1", kNow + 60, kNow).code(), Code::kConflict);
  // The same jti of another client, and another jti of the same client, are different ids; ids
  // are length-prefixed, so a split that spells the same characters is another id too.
  EXPECT_TRUE(ledger->Record("client-b", "j1", kNow + 60, kNow).ok());
  EXPECT_TRUE(ledger->Record("client-a", "j2", kNow + 60, kNow).ok());
  EXPECT_TRUE(ledger->Record("client-", "aj1", kNow + 60, kNow).ok());
}

TEST_F(JtiLedgerTest, AnExpiredIdMayBeUsedAgain) {
  auto ledger = Open();
  EXPECT_TRUE(ledger->Record("c", "j", kNow + 10, kNow).ok());
  EXPECT_EQ(ledger->Record("c", "j", kNow + 100, kNow + 10).code(), Code::kConflict);
  EXPECT_TRUE(ledger->Record("c", "j", kNow + 100, kNow + 11).ok());
  EXPECT_EQ(ledger->Record("c", "j", kNow + 200, kNow + 50).code(), Code::kConflict);
}

TEST_F(JtiLedgerTest, IdsReachTheDatabaseWithoutAnExplicitFlush) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->Record("c", "j", kNow + 60, kNow).ok());
  std::vector<JtiRecord> stored;
  for (int i = 0; i < 500 && stored.empty(); ++i) {
    stored = store_->LoadJtis(kNow, 10).value();
    if (stored.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].client_id, "c");
  EXPECT_EQ(stored[0].jti, "j");
  EXPECT_EQ(stored[0].expires_at, kNow + 60);
}

TEST_F(JtiLedgerTest, AReplayIsRefusedAfterARestart) {
  {
    auto ledger = Open();
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(ledger->Record("c", "j" + std::to_string(i), kNow + 60, kNow).ok());
    }
  }  // closing flushes
  auto ledger = Open();
  EXPECT_EQ(ledger->size(), 100u);
  EXPECT_EQ(ledger->Record("c", "j42", kNow + 60, kNow).code(), Code::kConflict);
  EXPECT_TRUE(ledger->Record("c", "j100", kNow + 60, kNow).ok());
  // Ids that had expired by the restart are not loaded.
  auto later = JtiLedger::Open(*store_, kNow + 61).value();
  EXPECT_EQ(later->size(), 0u);
}

TEST_F(JtiLedgerTest, PruneForgetsExpiredIdsInMemoryAndInTheDatabase) {
  auto ledger = Open();
  ASSERT_TRUE(ledger->Record("c", "short", kNow + 10, kNow).ok());
  ASSERT_TRUE(ledger->Record("c", "long", kNow + 1000, kNow).ok());
  ASSERT_TRUE(ledger->Flush().ok());
  ASSERT_TRUE(ledger->Prune(kNow + 11).ok());
  EXPECT_EQ(ledger->size(), 1u);
  auto stored = store_->LoadJtis(0, 10).value();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].jti, "long");
}

TEST_F(JtiLedgerTest, PastItsBoundTheDatabaseDecidesUntilPruningMakesRoom) {
  auto ledger = Open(/*max_entries=*/4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ledger->Record("c", "old" + std::to_string(i), kNow + 10, kNow).ok());
  }
  EXPECT_TRUE(ledger->in_memory());
  ASSERT_TRUE(ledger->Record("c", "keep", kNow + 1000, kNow).ok());  // the fifth: over the bound
  EXPECT_FALSE(ledger->in_memory());
  // Every id is still refused: the database holds them all.
  EXPECT_EQ(ledger->Record("c", "old0", kNow + 10, kNow).code(), Code::kConflict);
  EXPECT_EQ(ledger->Record("c", "keep", kNow + 1000, kNow).code(), Code::kConflict);
  EXPECT_TRUE(ledger->Record("c", "new", kNow + 1000, kNow).ok());
  EXPECT_EQ(ledger->Record("c", "new", kNow + 1000, kNow).code(), Code::kConflict);
  // The "old" ids expire; two remain, which fits under half the bound: memory again.
  ASSERT_TRUE(ledger->Prune(kNow + 11).ok());
  EXPECT_TRUE(ledger->in_memory());
  EXPECT_EQ(ledger->size(), 2u);
  EXPECT_EQ(ledger->Record("c", "keep", kNow + 1000, kNow + 11).code(), Code::kConflict);
  EXPECT_EQ(ledger->Record("c", "new", kNow + 1000, kNow + 11).code(), Code::kConflict);
  EXPECT_TRUE(ledger->Record("c", "old0", kNow + 1000, kNow + 11).ok());
}

TEST_F(JtiLedgerTest, ARestartRefusesIdsFromTheLogAndFromTheTableKeyedById) {
  {
    auto ledger = Open(/*max_entries=*/2);
    ASSERT_TRUE(ledger->Record("c", "a", kNow + 100, kNow).ok());  // memory: appended to the log
    ASSERT_TRUE(ledger->Record("c", "b", kNow + 100, kNow).ok());
    ASSERT_TRUE(
        ledger->Record("c", "c", kNow + 100, kNow).ok());  // over: the log moves to the table
    EXPECT_FALSE(ledger->in_memory());
    ASSERT_TRUE(ledger->Record("c", "d", kNow + 100, kNow).ok());  // written to the table
  }
  {
    auto ledger = Open(/*max_entries=*/100);
    EXPECT_TRUE(ledger->in_memory());
    for (const char* id : {"a", "b", "c", "d"}) {
      EXPECT_EQ(ledger->Record("c", id, kNow + 100, kNow + 1).code(), Code::kConflict) << id;
    }
    ASSERT_TRUE(ledger->Record("c", "e", kNow + 100, kNow + 1).ok());  // the log again
    EXPECT_TRUE(ledger->Record("other-client", "a", kNow + 100, kNow + 1).ok());
  }
  auto ledger = Open(/*max_entries=*/100);
  EXPECT_EQ(ledger->size(), 6u);
  EXPECT_EQ(ledger->Record("c", "e", kNow + 100, kNow + 2).code(), Code::kConflict);
  EXPECT_EQ(ledger->Record("other-client", "a", kNow + 100, kNow + 2).code(), Code::kConflict);
}

TEST_F(JtiLedgerTest, UpgradingADatabaseMovesItsUsedIdsIntoTheLog) {
  // A database as the first schema left it: ids in used_jtis, no log.
  for (const char* sql : {"DROP TABLE jti_log",
                          "DELETE FROM schema_migrations WHERE component = 'ims' AND version = 2",
                          "INSERT INTO used_jtis VALUES ('c', 'before-upgrade', 1000100)"}) {
    ASSERT_TRUE(db_->Execute(sql, {}).ok()) << sql;
  }
  store_ = ImsStore::Open(*db_).value();  // runs the second migration
  auto ledger = Open();
  EXPECT_EQ(ledger->Record("c", "before-upgrade", kNow + 100, kNow).code(), Code::kConflict);
  auto in_table = db_->Execute("SELECT count(*) FROM used_jtis", {}).value();
  EXPECT_EQ(in_table[0].Int(0), 0);
}

TEST_F(JtiLedgerTest, ConcurrentReplaysAreAcceptedExactlyOnce) {
  auto ledger = Open(100'000);
  constexpr int kThreads = 8;
  constexpr int kIds = 500;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIds; ++i) {
        if (ledger->Record("c", std::to_string(i), kNow + 60, kNow).ok()) ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), kIds);
  ASSERT_TRUE(ledger->Flush().ok());
  EXPECT_EQ(store_->LoadJtis(kNow, 10 * kIds).value().size(), static_cast<size_t>(kIds));
}

TEST(ImsServiceFolderTest, ASecondServiceOnTheSameDataFolderIsRefused) {
  TempDirectory dir;
  ImsOptions o{.data_dir = dir.path(), .port = 0, .handler_threads = 2, .access_log = false};
  auto first = ImsService::Start(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = ImsService::Start(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("already serving the data folder"), std::string::npos);
  first->reset();  // stopped and gone: the folder is free again
  auto third = ImsService::Start(o);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

}  // namespace
}  // namespace portico::ims

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "status_matchers.h"
#include "store/sql.h"
#include "store/sqlite_database.h"
#include "temp_directory.h"

namespace portico::store {
namespace {

using testing::IsOk;

// The PostgreSQL text is deliberately not valid SQLite: it must never be run here.
Migration Make(int version, std::string name, std::string sqlite_sql) {
  return Migration{version, std::move(name), std::move(sqlite_sql), "POSTGRES ONLY;"};
}

const std::vector<Migration>& IdentityV3() {
  static const std::vector<Migration> migrations = {
      Make(1, "create_users",
           "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE) STRICT;\n"
           "-- seed one row so that a second run would conflict\n"
           "INSERT INTO users (email) VALUES ('admin@example.com');"),
      Make(2, "create_groups", "CREATE TABLE groups_ (id INTEGER PRIMARY KEY, name TEXT) STRICT"),
      Make(3, "add_user_name", "ALTER TABLE users ADD COLUMN name TEXT;"),
  };
  return migrations;
}

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions options;
    options.path = dir_.path() / "migrate.db";
    StatusOr<std::unique_ptr<SqlDatabase>> db = OpenSqlite(options);
    ASSERT_TRUE(IsOk(db.status()));
    db_ = std::move(db).value();
  }

  // version -> name recorded for `component`.
  std::vector<std::pair<int64_t, std::string>> Recorded(std::string_view component) {
    std::vector<std::pair<int64_t, std::string>> recorded;
    StatusOr<SqlResult> rows = db_->Execute(
        "SELECT version, name, applied_at FROM schema_migrations WHERE component = $1 "
        "ORDER BY version",
        {component});
    EXPECT_TRUE(IsOk(rows.status()));
    if (!rows.ok()) return recorded;
    for (const SqlRow& row : *rows) {
      EXPECT_GT(row.Int("applied_at"), 1600000000);
      recorded.emplace_back(row.Int("version"), row.Text("name"));
    }
    return recorded;
  }

  bool TableExists(std::string_view table) {
    StatusOr<SqlResult> rows =
        db_->Execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = $1", {table});
    EXPECT_TRUE(IsOk(rows.status()));
    return rows.ok() && !rows->empty();
  }

  testing::TempDirectory dir_;
  std::unique_ptr<SqlDatabase> db_;
};

TEST_F(MigrationTest, AppliesInOrderOnceAndRerunIsNoOp) {
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  EXPECT_TRUE(TableExists("users"));
  EXPECT_TRUE(TableExists("groups_"));
  using Versions = std::vector<std::pair<int64_t, std::string>>;
  EXPECT_EQ(Recorded("ims"),
            (Versions{{1, "create_users"}, {2, "create_groups"}, {3, "add_user_name"}}));

  StatusOr<SqlResult> applied_at = db_->Execute("SELECT sum(applied_at) FROM schema_migrations");
  ASSERT_TRUE(applied_at.ok());
  // Re-running would fail (CREATE TABLE without IF NOT EXISTS, a UNIQUE seed row) if anything
  // were applied again.
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  StatusOr<SqlResult> users = db_->Execute("SELECT count(*) FROM users");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ((*users)[0].Int(0), 1);
  StatusOr<SqlResult> applied_again = db_->Execute("SELECT sum(applied_at) FROM schema_migrations");
  ASSERT_TRUE(applied_again.ok());
  EXPECT_EQ((*applied_again)[0].Int(0), (*applied_at)[0].Int(0));
}

TEST_F(MigrationTest, AppliesOnlyTheMissingVersions) {
  std::vector<Migration> first(IdentityV3().begin(), IdentityV3().begin() + 1);
  ASSERT_TRUE(IsOk(db_->Migrate("ims", first)));
  EXPECT_FALSE(TableExists("groups_"));
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  EXPECT_TRUE(TableExists("groups_"));
  EXPECT_EQ(Recorded("ims").size(), 3u);
  StatusOr<SqlResult> users = db_->Execute("SELECT count(*) FROM users");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ((*users)[0].Int(0), 1);
}

TEST_F(MigrationTest, RefusesDatabaseNewerThanBinary) {
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  std::vector<Migration> older(IdentityV3().begin(), IdentityV3().begin() + 2);
  Status status = db_->Migrate("ims", older);
  EXPECT_EQ(status.code(), Code::kPreconditionFailed);
  EXPECT_EQ(status.message(), "database schema version 3 of 'ims' is newer than this binary (2)");
  EXPECT_EQ(Recorded("ims").size(), 3u);
}

TEST_F(MigrationTest, RefusesRenamedMigration) {
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  std::vector<Migration> renamed = IdentityV3();
  renamed[1].name = "create_teams";
  renamed.push_back(Make(4, "never_applied", "CREATE TABLE never (x INTEGER) STRICT"));
  Status status = db_->Migrate("ims", renamed);
  EXPECT_EQ(status.code(), Code::kPreconditionFailed);
  EXPECT_NE(status.message().find("'create_groups'"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("'create_teams'"), std::string::npos) << status.message();
  EXPECT_FALSE(TableExists("never"));  // refused before applying anything
}

TEST_F(MigrationTest, RefusesVersionsTheBinaryDoesNotListOrSkipped) {
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  std::vector<Migration> without_two = {IdentityV3()[0], IdentityV3()[2]};
  EXPECT_EQ(db_->Migrate("ims", without_two).code(), Code::kPreconditionFailed);

  ASSERT_TRUE(IsOk(db_->Migrate("other", {{Make(1, "a", "CREATE TABLE oa (x INTEGER) STRICT"),
                                           Make(3, "c", "CREATE TABLE oc (x INTEGER) STRICT")}})));
  // Version 2 appears later, below the applied 3: applying it out of order is refused.
  std::vector<Migration> with_two = {Make(1, "a", "CREATE TABLE oa (x INTEGER) STRICT"),
                                     Make(2, "b", "CREATE TABLE ob (x INTEGER) STRICT"),
                                     Make(3, "c", "CREATE TABLE oc (x INTEGER) STRICT")};
  EXPECT_EQ(db_->Migrate("other", with_two).code(), Code::kPreconditionFailed);
  EXPECT_FALSE(TableExists("ob"));
}

TEST_F(MigrationTest, FailedMigrationRollsBackAndStops) {
  std::vector<Migration> migrations = {
      Make(1, "good", "CREATE TABLE good (x INTEGER) STRICT"),
      Make(2, "half_bad",
           "CREATE TABLE half (x INTEGER) STRICT; INSERT INTO no_such_table VALUES (1);"),
      Make(3, "after", "CREATE TABLE after_bad (x INTEGER) STRICT"),
  };
  Status status = db_->Migrate("ims", migrations);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("migration 2 'half_bad' of 'ims' failed"), std::string::npos)
      << status.message();
  EXPECT_TRUE(TableExists("good"));
  EXPECT_FALSE(TableExists("half"));
  EXPECT_FALSE(TableExists("after_bad"));
  EXPECT_EQ(Recorded("ims").size(), 1u);

  // Fixed in a later build (same name, corrected SQL): it applies.
  migrations[1].sqlite_sql = "CREATE TABLE half (x INTEGER) STRICT;";
  ASSERT_TRUE(IsOk(db_->Migrate("ims", migrations)));
  EXPECT_TRUE(TableExists("half"));
  EXPECT_TRUE(TableExists("after_bad"));
}

TEST_F(MigrationTest, RefusesTransactionControlInsideMigration) {
  Status status = db_->Migrate("ims", {{Make(1, "sneaky",
                                             "CREATE TABLE sneaky (x INTEGER) STRICT; COMMIT; "
                                             "CREATE TABLE later (x INTEGER) STRICT;")}});
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << status.ToString();
  EXPECT_FALSE(TableExists("sneaky"));
  EXPECT_TRUE(Recorded("ims").empty());
}

TEST_F(MigrationTest, ComponentsAreIndependent) {
  ASSERT_TRUE(IsOk(db_->Migrate("ims", IdentityV3())));
  ASSERT_TRUE(IsOk(db_->Migrate("portal", {{Make(1, "tenants",
                                                 "CREATE TABLE tenants "
                                                 "(id INTEGER PRIMARY KEY) STRICT")}})));
  EXPECT_EQ(Recorded("ims").size(), 3u);
  EXPECT_EQ(Recorded("portal").size(), 1u);
}

TEST_F(MigrationTest, RefusesMalformedLists) {
  auto code_of = [&](std::vector<Migration> migrations, std::string_view component = "ims") {
    return db_->Migrate(component, migrations).code();
  };
  EXPECT_EQ(code_of({Make(0, "zero", "SELECT 1")}), Code::kInvalidArgument);
  EXPECT_EQ(code_of({Make(2, "b", "SELECT 1"), Make(1, "a", "SELECT 1")}), Code::kInvalidArgument);
  EXPECT_EQ(code_of({Make(1, "a", "SELECT 1"), Make(1, "a", "SELECT 1")}), Code::kInvalidArgument);
  EXPECT_EQ(code_of({Make(1, "", "SELECT 1")}), Code::kInvalidArgument);
  EXPECT_EQ(code_of({Make(1, "empty", " ; ")}), Code::kInvalidArgument);
  EXPECT_EQ(code_of({Make(1, "a", "SELECT 1")}, ""), Code::kInvalidArgument);
  EXPECT_FALSE(TableExists("schema_migrations"));  // nothing touched
}

TEST_F(MigrationTest, ConcurrentRunsApplyEachVersionOnce) {
  std::vector<std::thread> threads;
  std::vector<Status> statuses(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { statuses[i] = db_->Migrate("ims", IdentityV3()); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : statuses) EXPECT_TRUE(IsOk(status));
  EXPECT_EQ(Recorded("ims").size(), 3u);
}

}  // namespace
}  // namespace portico::store

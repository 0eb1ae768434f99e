#include "store/sqlite_database.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "status_matchers.h"
#include "store/sql.h"
#include "temp_directory.h"

namespace portico::store {
namespace {

using testing::IsOk;

using std::chrono::milliseconds;
using std::chrono::seconds;

// Waits until `count` threads have arrived, or fails after a deadline instead of hanging.
class Rendezvous {
 public:
  explicit Rendezvous(int count) : remaining_(count) {}
  bool ArriveAndWait(std::chrono::steady_clock::duration timeout = seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--remaining_ <= 0) cv_.notify_all();
    return cv_.wait_for(lock, timeout, [this] { return remaining_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int remaining_;
};

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Open(Options());
    ASSERT_NE(db_, nullptr);
    ASSERT_OK(db_->Execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                           "qty INTEGER) STRICT")
                  .status());
  }

  SqliteOptions Options() const {
    SqliteOptions options;
    options.path = dir_.path() / "test.db";
    return options;
  }

  static std::unique_ptr<SqlDatabase> Open(const SqliteOptions& options) {
    StatusOr<std::unique_ptr<SqlDatabase>> db = OpenSqlite(options);
    EXPECT_TRUE(IsOk(db.status()));
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static int64_t Count(SqlDatabase& db, std::string_view table) {
    StatusOr<SqlResult> result = db.Execute("SELECT count(*) FROM " + std::string(table));
    EXPECT_TRUE(IsOk(result.status()));
    return result.ok() ? (*result)[0].Int(0) : -1;
  }

  testing::TempDirectory dir_;  // declared first: outlives the database
  std::unique_ptr<SqlDatabase> db_;
};

TEST_F(SqliteDatabaseTest, ReportsDialect) { EXPECT_EQ(db_->dialect(), "sqlite"); }

TEST_F(SqliteDatabaseTest, CreatesDatabaseFilesPrivate) {
  mode_t old_umask = ::umask(022);
  SqliteOptions options = Options();
  options.path = dir_.path() / "private.db";
  std::unique_ptr<SqlDatabase> db = Open(options);
  ::umask(old_umask);
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Execute("CREATE TABLE t (x INTEGER) STRICT").status());
  ASSERT_OK(db->Execute("INSERT INTO t VALUES (1)").status());

  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    std::string file = options.path.string() + suffix;
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(SqliteDatabaseTest, UsesWalAndEnforcesForeignKeys) {
  StatusOr<SqlResult> mode = db_->Execute("PRAGMA journal_mode");
  ASSERT_OK(mode.status());
  EXPECT_EQ((*mode)[0].Text(0), "wal");

  ASSERT_OK(db_->Execute("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                         "item INTEGER NOT NULL REFERENCES items(id)) STRICT")
                .status());
  StatusOr<SqlResult> orphan = db_->Execute("INSERT INTO child (item) VALUES ($1)", {999});
  EXPECT_EQ(orphan.status().code(), Code::kInvalidArgument) << orphan.status().ToString();
  EXPECT_EQ(Count(*db_, "child"), 0);
}

TEST_F(SqliteDatabaseTest, BindsPlaceholdersByNumberWithReuseAndAnyOrder) {
  StatusOr<SqlResult> result =
      db_->Execute("SELECT $2 AS second, $1 AS first, $1 || $2 || $1 AS joined", {"a", "b"});
  ASSERT_OK(result.status());
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].Text("second"), "b");
  EXPECT_EQ((*result)[0].Text("first"), "a");
  EXPECT_EQ((*result)[0].Text("joined"), "aba");

  ASSERT_OK(db_->Execute("INSERT INTO items (qty, name) VALUES ($2, $1)", {"bolt", 12}).status());
  result = db_->Execute("SELECT name, qty FROM items WHERE qty = $1 OR name = $1", {12});
  ASSERT_OK(result.status());
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].Text("name"), "bolt");
  EXPECT_EQ((*result)[0].Int("qty"), 12);
}

TEST_F(SqliteDatabaseTest, RefusesSqlOutsideThePortableSubset) {
  auto code_of = [&](std::string_view sql, const SqlParams& params = {}) {
    return db_->Execute(sql, params).status().code();
  };
  EXPECT_EQ(code_of("SELECT ?", {1}), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT :name", {1}), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT ?1", {1}), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT $01", {1}), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT $2", {1, 2}), Code::kInvalidArgument);  // $1 never used
  EXPECT_EQ(code_of("SELECT $1, $2", {1}), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT $1", {1, 2}), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT 1; SELECT 2"), Code::kInvalidArgument);
  EXPECT_EQ(code_of("DELETE FROM items; DROP TABLE items"), Code::kInvalidArgument);
  EXPECT_EQ(code_of("BEGIN"), Code::kInvalidArgument);
  EXPECT_EQ(code_of("  commit"), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SAVEPOINT s"), Code::kInvalidArgument);
  EXPECT_EQ(code_of("   "), Code::kInvalidArgument);
  EXPECT_EQ(code_of("SELEC 1"), Code::kInternal);  // a syntax error is a bug
  // A trailing semicolon and comment are one statement.
  EXPECT_OK(db_->Execute("SELECT 1; -- done").status());
  // The items table survived the refused multi-statement string.
  EXPECT_EQ(Count(*db_, "items"), 0);
}

TEST_F(SqliteDatabaseTest, RoundTripsEveryValueType) {
  ASSERT_OK(db_->Execute("CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, "
                         "b BLOB, a ANY) STRICT")
                .status());
  const std::string blob_with_nuls("\0a\0\xff\x00z", 6);
  const std::string utf8 = "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89";  // é 日本 🎉
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    SqlValue i, r, t, b, a;
  };
  std::vector<Case> cases = {
      {nullptr, nullptr, nullptr, nullptr, nullptr},
      {kMin, -1.5e300, utf8, SqlBlob{blob_with_nuls}, kMax},
      {kMax, 0.1, "", SqlBlob{""}, SqlBlob{"raw"}},
      {0, -0.25, std::string(10000, 'x'), SqlBlob{std::string(100000, '\0')}, "text"},
  };
  for (size_t n = 0; n < cases.size(); ++n) {
    const Case& c = cases[n];
    ASSERT_OK(db_->Execute("INSERT INTO v (id, i, r, t, b, a) VALUES ($1, $2, $3, $4, $5, $6)",
                           {static_cast<int64_t>(n), c.i, c.r, c.t, c.b, c.a})
                  .status());
  }
  StatusOr<SqlResult> result = db_->Execute("SELECT i, r, t, b, a FROM v ORDER BY id");
  ASSERT_OK(result.status());
  ASSERT_EQ(result->size(), cases.size());
  for (size_t n = 0; n < cases.size(); ++n) {
    const SqlRow& row = (*result)[n];
    EXPECT_EQ(row.value(0), cases[n].i) << n;
    EXPECT_EQ(row.value(1), cases[n].r) << n;
    EXPECT_EQ(row.value(2), cases[n].t) << n;
    EXPECT_EQ(row.value(3), cases[n].b) << n;
    EXPECT_EQ(row.value(4), cases[n].a) << n;
  }
  const SqlRow& nulls = (*result)[0];
  for (size_t col = 0; col < 5; ++col) EXPECT_TRUE(nulls.IsNull(col));
  EXPECT_EQ((*result)[1].Blob("b"), blob_with_nuls);
  EXPECT_EQ((*result)[1].Text("t"), utf8);
  EXPECT_EQ((*result)[1].Int("i"), kMin);
  EXPECT_EQ((*result)[2].Int("i"), kMax);
  EXPECT_FALSE((*result)[2].IsNull("b"));  // an empty blob is not NULL
  EXPECT_EQ((*result)[2].Blob("b"), "");
  EXPECT_EQ((*result)[2].OptionalText("t"), "");

  // Values survive being compared in SQL too, not only being read back.
  StatusOr<SqlResult> found =
      db_->Execute("SELECT id FROM v WHERE b = $1 AND t = $2", {SqlBlob{blob_with_nuls}, utf8});
  ASSERT_OK(found.status());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].Int(0), 1);
}

TEST_F(SqliteDatabaseTest, RefusesTextThatPostgresWouldRefuse) {
  const std::string secret = "hunter2\xff";
  StatusOr<SqlResult> bad = db_->Execute("INSERT INTO items (name) VALUES ($1)", {secret});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(db_->Execute("SELECT $1", {std::string("a\0b", 3)}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(db_->Execute("SELECT $1", {"\xC0\xAF"}).status().code(),  // overlong '/'
            Code::kInvalidArgument);
  EXPECT_EQ(db_->Execute("SELECT $1", {"\xED\xA0\x80"}).status().code(),  // a surrogate
            Code::kInvalidArgument);
  EXPECT_EQ(db_->Execute("SELECT $1", {std::numeric_limits<double>::quiet_NaN()}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Count(*db_, "items"), 0);
}

TEST_F(SqliteDatabaseTest, ReturningGivesRowsAndAffectedCounts) {
  StatusOr<SqlResult> inserted = db_->Execute(
      "INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING id, name, qty", {"nut", 3});
  ASSERT_OK(inserted.status());
  ASSERT_EQ(inserted->size(), 1u);
  EXPECT_GT((*inserted)[0].Int("id"), 0);
  EXPECT_EQ((*inserted)[0].Text("name"), "nut");
  EXPECT_EQ(inserted->rows_affected, 1);

  ASSERT_OK(db_->Execute("INSERT INTO items (name, qty) VALUES ('a', 1), ('b', 1)").status());
  StatusOr<SqlResult> updated =
      db_->Execute("UPDATE items SET qty = qty + $1 WHERE qty = 1 RETURNING name", {10});
  ASSERT_OK(updated.status());
  EXPECT_EQ(updated->rows_affected, 2);
  EXPECT_EQ(updated->size(), 2u);

  StatusOr<SqlResult> none = db_->Execute("DELETE FROM items WHERE qty = $1", {-1});
  ASSERT_OK(none.status());
  EXPECT_EQ(none->rows_affected, 0);

  StatusOr<SqlResult> conflict_ignored = db_->Execute(
      "INSERT INTO items (name, qty) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING RETURNING id",
      {"nut"});
  ASSERT_OK(conflict_ignored.status());
  EXPECT_TRUE(conflict_ignored->empty());
  EXPECT_EQ(conflict_ignored->rows_affected, 0);

  StatusOr<SqlResult> upserted = db_->Execute(
      "INSERT INTO items (name, qty) VALUES ($1, $2) "
      "ON CONFLICT (name) DO UPDATE SET qty = excluded.qty RETURNING qty",
      {"nut", 99});
  ASSERT_OK(upserted.status());
  EXPECT_EQ((*upserted)[0].Int(0), 99);

  // Neither a SELECT nor DDL reports the previous statement's count.
  StatusOr<SqlResult> selected = db_->Execute("SELECT * FROM items");
  ASSERT_OK(selected.status());
  EXPECT_EQ(selected->rows_affected, 0);
  StatusOr<SqlResult> ddl = db_->Execute("CREATE TABLE other (x INTEGER) STRICT");
  ASSERT_OK(ddl.status());
  EXPECT_EQ(ddl->rows_affected, 0);
}

TEST_F(SqliteDatabaseTest, ConstraintViolationsMapToStatusesAndChangeNothing) {
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ($1)", {"top-secret-name"}).status());
  StatusOr<SqlResult> duplicate =
      db_->Execute("INSERT INTO items (name) VALUES ($1)", {"top-secret-name"});
  EXPECT_EQ(duplicate.status().code(), Code::kConflict) << duplicate.status().ToString();
  EXPECT_EQ(duplicate.status().message().find("top-secret"), std::string::npos);
  EXPECT_NE(duplicate.status().message().find("items.name"), std::string::npos);

  StatusOr<SqlResult> same_key =
      db_->Execute("INSERT INTO items (id, name) SELECT id, 'other' FROM items WHERE name = $1",
                   {"top-secret-name"});
  EXPECT_EQ(same_key.status().code(), Code::kConflict);

  EXPECT_EQ(db_->Execute("INSERT INTO items (name) VALUES (NULL)").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(db_->Execute("INSERT INTO items (name, qty) VALUES ('x', 'many')").status().code(),
            Code::kInvalidArgument);  // STRICT type check
  EXPECT_EQ(Count(*db_, "items"), 1);
}

TEST_F(SqliteDatabaseTest, TransactionCommitsOnOk) {
  Status status = db_->Transaction([](SqlSession& session) -> Status {
    PORTICO_RETURN_IF_ERROR(
        session.Execute("INSERT INTO items (name) VALUES ($1)", {"one"}).status());
    PORTICO_ASSIGN_OR_RETURN(SqlResult seen, session.Execute("SELECT count(*) FROM items"));
    if (seen[0].Int(0) != 1) return Internal("own write not visible");
    return session.Execute("INSERT INTO items (name) VALUES ($1)", {"two"}).status();
  });
  ASSERT_OK(status);
  EXPECT_EQ(Count(*db_, "items"), 2);
}

TEST_F(SqliteDatabaseTest, TransactionRollsBackWhenCallbackFails) {
  Status status = db_->Transaction([](SqlSession& session) -> Status {
    PORTICO_RETURN_IF_ERROR(
        session.Execute("INSERT INTO items (name) VALUES ($1)", {"doomed"}).status());
    return NotFound("the callback's own reason");
  });
  EXPECT_EQ(status.code(), Code::kNotFound);
  EXPECT_EQ(status.message(), "the callback's own reason");
  EXPECT_EQ(Count(*db_, "items"), 0);

  // The connection went back to the pool clean: later transactions work.
  ASSERT_OK(db_->Transaction([](SqlSession& session) {
    return session.Execute("INSERT INTO items (name) VALUES ('after')").status();
  }));
  EXPECT_EQ(Count(*db_, "items"), 1);
}

TEST_F(SqliteDatabaseTest, UniqueViolationInTransactionLeavesNothing) {
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ('taken')").status());
  Status status = db_->Transaction([](SqlSession& session) -> Status {
    PORTICO_RETURN_IF_ERROR(
        session.Execute("INSERT INTO items (name) VALUES ($1)", {"fresh"}).status());
    return session.Execute("INSERT INTO items (name) VALUES ($1)", {"taken"}).status();
  });
  EXPECT_EQ(status.code(), Code::kConflict);
  EXPECT_EQ(Count(*db_, "items"), 1);
}

TEST_F(SqliteDatabaseTest, FailedStatementAbortsTransactionLikePostgres) {
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ('taken')").status());
  Status later;
  Status status = db_->Transaction([&](SqlSession& session) -> Status {
    PORTICO_RETURN_IF_ERROR(session.Execute("INSERT INTO items (name) VALUES ('new')").status());
    // The caller swallows the conflict; PostgreSQL would abort the transaction here.
    (void)session.Execute("INSERT INTO items (name) VALUES ('taken')");
    later = session.Execute("SELECT 1").status();
    return Status::Ok();
  });
  EXPECT_EQ(status.code(), Code::kConflict);
  EXPECT_FALSE(later.ok());
  EXPECT_EQ(Count(*db_, "items"), 1);
}

TEST_F(SqliteDatabaseTest, SessionRefusesTransactionControl) {
  Status status = db_->Transaction([](SqlSession& session) -> Status {
    PORTICO_RETURN_IF_ERROR(session.Execute("INSERT INTO items (name) VALUES ('x')").status());
    return session.Execute("COMMIT").status();
  });
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(Count(*db_, "items"), 0);
}

TEST_F(SqliteDatabaseTest, ExceptionInCallbackRollsBackAndReleasesEverything) {
  EXPECT_THROW(db_->Transaction([](SqlSession& session) -> Status {
    (void)session.Execute("INSERT INTO items (name) VALUES ('x')");
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(Count(*db_, "items"), 0);
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ('y')").status());  // lock released
}

TEST_F(SqliteDatabaseTest, WriteThroughDatabaseInsideTransactionFailsFast) {
  auto start = std::chrono::steady_clock::now();
  Status inner;
  ASSERT_OK(db_->Transaction([&](SqlSession& /*session*/) {
    inner = db_->Execute("INSERT INTO items (name) VALUES ('nested')").status();
    return Status::Ok();
  }));
  EXPECT_EQ(inner.code(), Code::kInternal);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
}

TEST_F(SqliteDatabaseTest, ReadTransactionRefusesWrites) {
  Status status = db_->ReadTransaction([](SqlSession& session) {
    return session.Execute("INSERT INTO items (name) VALUES ('x')").status();
  });
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(Count(*db_, "items"), 0);
}

TEST_F(SqliteDatabaseTest, ReadTransactionSeesOneSnapshot) {
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ('first')").status());
  int64_t before = -1;
  int64_t after = -1;
  Status writer;
  ASSERT_OK(db_->ReadTransaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(SqlResult r, session.Execute("SELECT count(*) FROM items"));
    before = r[0].Int(0);
    // A writer commits meanwhile, without waiting for this reader.
    std::thread([&] {
      writer = db_->Execute("INSERT INTO items (name) VALUES ('second')").status();
    }).join();
    PORTICO_ASSIGN_OR_RETURN(r, session.Execute("SELECT count(*) FROM items"));
    after = r[0].Int(0);
    return Status::Ok();
  }));
  EXPECT_OK(writer);
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
  EXPECT_EQ(Count(*db_, "items"), 2);
}

TEST_F(SqliteDatabaseTest, ConcurrentWritersAllCommit) {
  constexpr int kThreads = 8;
  constexpr int kRowsPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRowsPerThread; ++i) {
        Status status = db_->Transaction([&](SqlSession& session) -> Status {
          PORTICO_RETURN_IF_ERROR(
              session.Execute("SELECT count(*) FROM items WHERE qty = $1", {t}).status());
          return session
              .Execute("INSERT INTO items (name, qty) VALUES ($1, $2)",
                       {"t" + std::to_string(t) + "-" + std::to_string(i), t})
              .status();
        });
        if (!status.ok()) {
          ADD_FAILURE() << status.ToString();
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count(*db_, "items"), kThreads * kRowsPerThread);
}

TEST_F(SqliteDatabaseTest, ReadersAreNotBlockedByLongWriteTransaction) {
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ('committed')").status());
  std::promise<void> written;
  std::promise<void> release;
  std::future<void> release_future = release.get_future();
  std::thread writer([&] {
    Status status = db_->Transaction([&](SqlSession& session) -> Status {
      PORTICO_RETURN_IF_ERROR(
          session.Execute("INSERT INTO items (name) VALUES ('pending')").status());
      // More than the page cache holds, so that without WAL the writer would have to lock
      // readers out to spill pages into the file.
      PORTICO_RETURN_IF_ERROR(
          session.Execute("CREATE TABLE big (b BLOB NOT NULL) STRICT").status());
      for (int i = 0; i < 8; ++i) {
        PORTICO_RETURN_IF_ERROR(
            session.Execute("INSERT INTO big (b) VALUES ($1)", {SqlBlob{std::string(1 << 20, 'x')}})
                .status());
      }
      written.set_value();
      release_future.wait_for(seconds(30));
      return Status::Ok();
    });
    EXPECT_OK(status);
  });
  written.get_future().wait();

  auto start = std::chrono::steady_clock::now();
  int64_t seen_plain = Count(*db_, "items");
  int64_t seen_in_transaction = -1;
  Status read = db_->ReadTransaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(SqlResult r, session.Execute("SELECT count(*) FROM items"));
    seen_in_transaction = r[0].Int(0);
    return Status::Ok();
  });
  auto elapsed = std::chrono::steady_clock::now() - start;
  release.set_value();
  writer.join();

  EXPECT_OK(read);
  EXPECT_EQ(seen_plain, 1);  // the uncommitted row is invisible
  EXPECT_EQ(seen_in_transaction, 1);
  EXPECT_LT(elapsed, seconds(2));
  EXPECT_EQ(Count(*db_, "items"), 2);
}

TEST_F(SqliteDatabaseTest, StatementCacheServesManyCallsAndSchemaChanges) {
  SqliteOptions options = Options();
  options.path = dir_.path() / "cache.db";
  options.pool_size = 1;  // every call on the same connection and its cache
  std::unique_ptr<SqlDatabase> db = Open(options);
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->Execute("CREATE TABLE n (v INTEGER NOT NULL) STRICT").status());
  constexpr int kCalls = 3000;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_OK(db->Execute("INSERT INTO n (v) VALUES ($1)", {i}).status());
  }
  StatusOr<SqlResult> sum = db->Execute("SELECT sum(v), count(*) FROM n");
  ASSERT_OK(sum.status());
  EXPECT_EQ((*sum)[0].Int(0), int64_t{kCalls} * (kCalls - 1) / 2);
  EXPECT_EQ((*sum)[0].Int(1), kCalls);

  // More distinct statements than the cache holds: each still gives its own answer.
  for (int i = 0; i < 600; ++i) {
    StatusOr<SqlResult> r = db->Execute("SELECT $1 + " + std::to_string(i), {1000});
    ASSERT_OK(r.status());
    ASSERT_EQ((*r)[0].Int(0), 1000 + i);
  }
  // A cached SELECT * follows a schema change.
  StatusOr<SqlResult> before = db->Execute("SELECT * FROM n LIMIT 1");
  ASSERT_OK(before.status());
  EXPECT_EQ((*before)[0].size(), 1u);
  ASSERT_OK(db->Execute("ALTER TABLE n ADD COLUMN label TEXT").status());
  StatusOr<SqlResult> after = db->Execute("SELECT * FROM n LIMIT 1");
  ASSERT_OK(after.status());
  EXPECT_EQ((*after)[0].size(), 2u);
  EXPECT_TRUE((*after)[0].IsNull("label"));
  // A failed run leaves the cached statement usable.
  EXPECT_FALSE(db->Execute("INSERT INTO n (v) VALUES ($1)", {nullptr}).ok());
  EXPECT_OK(db->Execute("INSERT INTO n (v) VALUES ($1)", {1}).status());
}

TEST_F(SqliteDatabaseTest, DataSurvivesReopening) {
  ASSERT_OK(db_->Execute("INSERT INTO items (name) VALUES ('kept')").status());
  db_.reset();
  std::unique_ptr<SqlDatabase> reopened = Open(Options());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Count(*reopened, "items"), 1);
}

TEST_F(SqliteDatabaseTest, RefusesBadOptions) {
  SqliteOptions options = Options();
  options.pool_size = 0;
  EXPECT_EQ(OpenSqlite(options).status().code(), Code::kInvalidArgument);
  options = Options();
  options.busy_timeout = milliseconds(-1);
  EXPECT_EQ(OpenSqlite(options).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenSqlite(SqliteOptions{}).status().code(), Code::kInvalidArgument);
  options = Options();
  options.path = dir_.path() / "missing-dir" / "x.db";
  EXPECT_EQ(OpenSqlite(options).status().code(), Code::kInternal);
}

TEST(SqliteInMemoryTest, PooledConnectionsShareOneDatabase) {
  SqliteOptions options;
  options.in_memory = true;
  options.pool_size = 4;
  StatusOr<std::unique_ptr<SqlDatabase>> opened = OpenSqlite(options);
  ASSERT_OK(opened.status());
  SqlDatabase& db = **opened;
  ASSERT_OK(db.Execute("CREATE TABLE t (x INTEGER) STRICT").status());
  ASSERT_OK(db.Transaction([](SqlSession& session) {
    return session.Execute("INSERT INTO t VALUES ($1), ($2)", {1, 2}).status();
  }));

  // Four simultaneous read transactions occupy all four connections; each sees the rows.
  Rendezvous all_in(4);
  std::vector<std::thread> readers;
  std::vector<int64_t> seen(4, -1);
  std::vector<Status> statuses(4);
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&, i] {
      statuses[i] = db.ReadTransaction([&](SqlSession& session) -> Status {
        if (!all_in.ArriveAndWait()) return Internal("readers did not overlap");
        PORTICO_ASSIGN_OR_RETURN(SqlResult r, session.Execute("SELECT count(*) FROM t"));
        seen[i] = r[0].Int(0);
        return Status::Ok();
      });
    });
  }
  for (std::thread& reader : readers) reader.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_OK(statuses[i]);
    EXPECT_EQ(seen[i], 2) << i;
  }

  // Rollback works in memory too.
  EXPECT_FALSE(db.Transaction([](SqlSession& session) -> Status {
                   PORTICO_RETURN_IF_ERROR(session.Execute("INSERT INTO t VALUES (3)").status());
                   return Internal("no");
                 }).ok());
  StatusOr<SqlResult> count = db.Execute("SELECT count(*) FROM t");
  ASSERT_OK(count.status());
  EXPECT_EQ((*count)[0].Int(0), 2);

  // Another in-memory database is a different, empty one.
  StatusOr<std::unique_ptr<SqlDatabase>> other = OpenSqlite(options);
  ASSERT_OK(other.status());
  EXPECT_EQ((*other)->Execute("SELECT count(*) FROM t").status().code(), Code::kInternal);
}

TEST(SqliteInMemoryTest, ConcurrentWritersAllCommit) {
  SqliteOptions options;
  options.in_memory = true;
  StatusOr<std::unique_ptr<SqlDatabase>> opened = OpenSqlite(options);
  ASSERT_OK(opened.status());
  SqlDatabase& db = **opened;
  ASSERT_OK(db.Execute("CREATE TABLE t (x INTEGER) STRICT").status());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!db.Transaction([&](SqlSession& s) {
                 return s.Execute("INSERT INTO t VALUES ($1)", {i}).status();
               }).ok() ||
            !db.Execute("SELECT count(*) FROM t").ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  StatusOr<SqlResult> count = db.Execute("SELECT count(*) FROM t");
  ASSERT_OK(count.status());
  EXPECT_EQ((*count)[0].Int(0), 400);
}

}  // namespace
}  // namespace portico::store

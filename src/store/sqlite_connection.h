// One SQLite connection with its prepared-statement cache. Internal to the store module: the
// rest of the code base sees only SqlDatabase (sql.h) and OpenSqlite (sqlite_database.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "store/sql.h"

struct sqlite3;
struct sqlite3_stmt;

namespace portico::store {

// A prepared statement, checked once against the portable subset when it is prepared. Owned by
// the connection's cache; valid until the next Prepare on the same connection.
struct SqliteStatement {
  sqlite3_stmt* stmt = nullptr;
  // For SQLite bind index i + 1, the placeholder number N of its `$N`.
  std::vector<int> placeholder_numbers;
  // The highest N: how many parameters a call must pass.
  int parameter_count = 0;
  // The statement cannot change the database (sqlite3_stmt_readonly).
  bool read_only = false;
  // BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE: refused outside the transaction methods.
  bool transaction_control = false;
};

// Not thread-safe: one thread at a time (the pool hands it out exclusively). Opened in SQLite's
// multi-thread mode, so it must never be shared concurrently.
class SqliteConnection {
 public:
  // Opens `filename` (a path, or a URI when `uri` is true), sets the busy timeout, foreign keys,
  // synchronous=NORMAL and defensive mode. Fails with Internal or Unavailable (busy).
  static StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& filename, bool uri,
                                                          std::chrono::milliseconds busy_timeout);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Returns the cached statement for `sql`, preparing and checking it on first use. Fails with
  // InvalidArgument for SQL outside the portable subset, Internal for SQL SQLite cannot prepare.
  StatusOr<SqliteStatement*> Prepare(std::string_view sql);

  // Binds `params`, steps `statement` to completion and returns its rows. The statement is reset
  // and its bindings cleared afterwards, whatever happens.
  StatusOr<SqlResult> Run(SqliteStatement& statement, const SqlParams& params);

  // Runs a script of one or more statements without placeholders (migrations only), stopping at
  // the first error. Refuses transaction control statements before running them.
  Status RunScript(std::string_view script);

  // Runs a statement without parameters or results, bypassing the cache (BEGIN, COMMIT, PRAGMA).
  // Returns the raw SQLite result code; use ErrorStatus for a failure's Status.
  int ExecRaw(const char* sql);

  // True while a transaction is open on this connection.
  bool InTransaction() const;
  // Rolls back the open transaction, if any. Never fails: ROLLBACK of an open transaction
  // cannot fail in a way that leaves it open.
  void RollbackIfInTransaction();

  // The Status for SQLite result code `rc`, which just came from this connection.
  Status ErrorStatus(int rc, std::string_view context) const;

  size_t cached_statement_count() const { return cache_.size(); }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct StatementDeleter {
    void operator()(SqliteStatement* s) const;
  };
  using StatementPtr = std::unique_ptr<SqliteStatement, StatementDeleter>;

  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  StatusOr<StatementPtr> PrepareNew(std::string_view sql);

  sqlite3* db_;
  std::unordered_map<std::string, StatementPtr, StringHash, std::equal_to<>> cache_;
};

// Maps an SQLite extended result code and message to a Status: UNIQUE/PRIMARY KEY constraint
// -> Conflict, other constraints -> InvalidArgument, BUSY/LOCKED -> Unavailable, else Internal.
Status SqliteStatus(int extended_rc, std::string_view message, std::string_view context);

}  // namespace portico::store

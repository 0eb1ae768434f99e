#include "store/sqlite_database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/migration_runner.h"
#include "store/sqlite_connection.h"

namespace portico::store {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxPoolSize = 64;
constexpr std::chrono::milliseconds kFirstBackoff{1};
constexpr std::chrono::milliseconds kMaxBackoff{50};

bool IsBusy(int rc) { return (rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED; }

// Runs BEGIN or COMMIT, retrying with a growing pause while the database is busy, until
// `deadline`. (The connection's busy handler already waits inside each attempt; the loop covers
// the cases where SQLite reports BUSY without calling it.)
Status ExecWithRetry(SqliteConnection& connection, const char* sql, Clock::time_point deadline) {
  std::chrono::milliseconds backoff = kFirstBackoff;
  for (;;) {
    int rc = connection.ExecRaw(sql);
    if (rc == SQLITE_OK) return Status::Ok();
    if (!IsBusy(rc) || Clock::now() + backoff >= deadline) {
      return connection.ErrorStatus(rc, sql);
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

// One connection inside a transaction opened by SqliteDatabase. Not thread-safe.
class SqliteSession final : public SqlSession {
 public:
  SqliteSession(SqliteConnection& connection, bool read_only)
      : connection_(connection), read_only_(read_only) {}

  StatusOr<SqlResult> Execute(std::string_view sql, const SqlParams& params) override {
    PORTICO_RETURN_IF_ERROR(CheckNotAborted());
    StatusOr<SqliteStatement*> statement = connection_.Prepare(sql);
    if (!statement.ok()) return Abort(statement.status());
    if ((*statement)->transaction_control) {
      return Abort(InvalidArgument(
          "transaction control statements are not allowed; the transaction is managed by "
          "SqlDatabase::Transaction"));
    }
    if (read_only_ && !(*statement)->read_only) {
      return Abort(InvalidArgument("a read transaction cannot run a statement that writes"));
    }
    StatusOr<SqlResult> result = connection_.Run(**statement, params);
    if (!result.ok()) return Abort(result.status());
    PORTICO_RETURN_IF_ERROR(CheckStillInTransaction());
    return result;
  }

  // Runs a migration's script inside the transaction.
  Status RunScript(std::string_view script) {
    PORTICO_RETURN_IF_ERROR(CheckNotAborted());
    if (read_only_) return Abort(InvalidArgument("a read transaction cannot run a migration"));
    Status ran = connection_.RunScript(script);
    if (!ran.ok()) return Abort(std::move(ran));
    return CheckStillInTransaction();
  }

  // OK, or the first failure of a statement run through this session.
  const Status& first_error() const { return first_error_; }

 private:
  Status Abort(Status status) {
    if (first_error_.ok()) first_error_ = status;
    return status;
  }

  Status CheckNotAborted() const {
    if (first_error_.ok()) return Status::Ok();
    return Internal("the transaction was aborted by an earlier failed statement (" +
                    first_error_.message() + ")");
  }

  // SQLite rolls a transaction back by itself after some errors (disk full, I/O); statements
  // after that would silently run in autocommit mode.
  Status CheckStillInTransaction() {
    if (connection_.InTransaction()) return Status::Ok();
    return Abort(Internal("sqlite: the transaction ended unexpectedly"));
  }

  SqliteConnection& connection_;
  const bool read_only_;
  Status first_error_;
};

class SqliteDatabase final : public SqlDatabase {
 public:
  SqliteDatabase(std::vector<std::unique_ptr<SqliteConnection>> connections,
                 std::chrono::milliseconds busy_timeout)
      : connections_(std::move(connections)), busy_timeout_(busy_timeout) {
    for (const auto& c : connections_) idle_.push_back(c.get());
  }

  std::string_view dialect() const override { return "sqlite"; }

  StatusOr<SqlResult> Execute(std::string_view sql, const SqlParams& params) override {
    const Clock::time_point deadline = Clock::now() + busy_timeout_;
    PORTICO_ASSIGN_OR_RETURN(Lease lease, Acquire(deadline));
    SqliteConnection& connection = lease.connection();
    PORTICO_ASSIGN_OR_RETURN(SqliteStatement * statement, connection.Prepare(sql));
    if (statement->transaction_control) {
      return InvalidArgument(
          "transaction control statements are not allowed; use SqlDatabase::Transaction");
    }
    WriteLock write_lock;
    if (!statement->read_only) PORTICO_RETURN_IF_ERROR(LockWrites(deadline, write_lock));
    StatusOr<SqlResult> result = connection.Run(*statement, params);
    if (connection.InTransaction()) {  // cannot happen once BEGIN is refused; never leak one
      connection.RollbackIfInTransaction();
      return Internal("sqlite: a statement left a transaction open");
    }
    return result;
  }

  Status Transaction(const SqlTransactionFn& fn) override { return RunTransaction(fn, true); }

  Status ReadTransaction(const SqlTransactionFn& fn) override { return RunTransaction(fn, false); }

  Status Migrate(std::string_view component, std::span<const Migration> migrations) override {
    // Sound: RunMigrations only hands back sessions made by this->Transaction.
    return RunMigrations(*this, component, migrations,
                         [](SqlSession& session, std::string_view script) {
                           return static_cast<SqliteSession&>(session).RunScript(script);
                         });
  }

 private:
  // A connection checked out of the pool; returns it on destruction, never inside a transaction.
  class Lease {
   public:
    Lease(SqliteDatabase* db, SqliteConnection* connection) : db_(db), connection_(connection) {}
    Lease(Lease&& other) noexcept
        : db_(std::exchange(other.db_, nullptr)),
          connection_(std::exchange(other.connection_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_ == nullptr) return;
      connection_->RollbackIfInTransaction();
      db_->Release(connection_);
    }
    SqliteConnection& connection() { return *connection_; }

   private:
    SqliteDatabase* db_;
    SqliteConnection* connection_;
  };

  // Rolls back at scope exit unless the transaction ended; declared after the write lock so the
  // rollback happens before the lock is released, even when the callback throws.
  class RollbackOnExit {
   public:
    explicit RollbackOnExit(SqliteConnection& connection) : connection_(connection) {}
    ~RollbackOnExit() { connection_.RollbackIfInTransaction(); }
    RollbackOnExit(const RollbackOnExit&) = delete;
    RollbackOnExit& operator=(const RollbackOnExit&) = delete;

   private:
    SqliteConnection& connection_;
  };

  StatusOr<Lease> Acquire(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    if (!pool_available_.wait_until(lock, deadline, [this] { return !idle_.empty(); })) {
      return Unavailable("sqlite: all " + std::to_string(connections_.size()) +
                         " database connections stayed busy past the busy timeout");
    }
    SqliteConnection* connection = idle_.back();
    idle_.pop_back();
    return Lease(this, connection);
  }

  void Release(SqliteConnection* connection) {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      idle_.push_back(connection);
    }
    pool_available_.notify_one();
  }

  // Holds write_mutex_ while alive, once LockWrites has filled it in.
  class WriteLock {
   public:
    WriteLock() = default;
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;
    ~WriteLock() {
      if (db_ == nullptr) return;
      db_->write_owner_.store(std::thread::id());
      db_->write_mutex_.unlock();
    }

   private:
    friend class SqliteDatabase;
    SqliteDatabase* db_ = nullptr;
  };

  Status LockWrites(Clock::time_point deadline, WriteLock& lock) {
    // Re-locking from the owning thread would wait for itself (and is undefined for a mutex).
    if (write_owner_.load() == std::this_thread::get_id()) {
      return Internal(
          "sqlite: a write through the database from inside its own write transaction; use the "
          "session");
    }
    if (!write_mutex_.try_lock_until(deadline)) {
      return Unavailable(
          "sqlite: another write transaction held the database past the busy timeout");
    }
    write_owner_.store(std::this_thread::get_id());
    lock.db_ = this;
    return Status::Ok();
  }

  Status RunTransaction(const SqlTransactionFn& fn, bool write) {
    const Clock::time_point deadline = Clock::now() + busy_timeout_;
    PORTICO_ASSIGN_OR_RETURN(Lease lease, Acquire(deadline));
    SqliteConnection& connection = lease.connection();
    WriteLock write_lock;
    if (write) PORTICO_RETURN_IF_ERROR(LockWrites(deadline, write_lock));
    RollbackOnExit rollback_on_exit(connection);

    PORTICO_RETURN_IF_ERROR(
        ExecWithRetry(connection, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", deadline));
    SqliteSession session(connection, /*read_only=*/!write);
    Status status = fn(session);
    if (status.ok()) status = session.first_error();
    if (!status.ok()) return status;  // rolled back on exit
    return ExecWithRetry(connection, "COMMIT", Clock::now() + busy_timeout_);
  }

  const std::vector<std::unique_ptr<SqliteConnection>> connections_;
  const std::chrono::milliseconds busy_timeout_;

  std::mutex pool_mutex_;
  std::condition_variable pool_available_;
  std::vector<SqliteConnection*> idle_;  // guarded by pool_mutex_

  // Held by every write: a connection may only wait for it while holding a lease (never the
  // other way round), so a writer holding it always has its connection and finishes.
  std::timed_mutex write_mutex_;
  std::atomic<std::thread::id> write_owner_;  // the thread holding write_mutex_, if any
};

// Creates the file with mode 0600 if it is missing. SQLite gives its -wal and -shm files the
// database file's mode, so they are private too. Avoids the umask, which is process-wide.
Status CreatePrivateFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    return Internal("cannot create the database file " + path.string() + ": " +
                    std::generic_category().message(error));
  }
  ::close(fd);
  return Status::Ok();
}

Status EnableWal(SqliteConnection& connection, const std::filesystem::path& path) {
  PORTICO_ASSIGN_OR_RETURN(SqliteStatement * statement,
                           connection.Prepare("PRAGMA journal_mode = WAL"));
  PORTICO_ASSIGN_OR_RETURN(SqlResult result, connection.Run(*statement, {}));
  std::string mode = result.empty() || result[0].size() == 0 || result[0].IsNull(0)
                         ? std::string("unknown")
                         : result[0].Text(0);
  if (mode != "wal") {
    return Internal("sqlite: cannot enable WAL mode on " + path.string() + " (journal mode is " +
                    mode + ")");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<SqlDatabase>> OpenSqlite(const SqliteOptions& options) {
  if (options.pool_size < 1 || options.pool_size > kMaxPoolSize) {
    return InvalidArgument("the SQLite pool size must be between 1 and " +
                           std::to_string(kMaxPoolSize));
  }
  if (options.busy_timeout.count() < 0) {
    return InvalidArgument("the SQLite busy timeout cannot be negative");
  }

  std::string filename;
  std::filesystem::path path;
  if (options.in_memory) {
    // The memdb VFS shares a database named "/..." between the connections of this process and
    // uses ordinary locks, which honour the busy timeout (unlike shared-cache mode's
    // SQLITE_LOCKED).
    static std::atomic<uint64_t> counter{0};
    filename = "file:/portico-memory-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter.fetch_add(1)) + "?vfs=memdb";
  } else {
    if (options.path.empty()) return InvalidArgument("the SQLite database path is empty");
    std::error_code error;
    // Absolute, so a relative name starting with "file:" is never read as a URI.
    path = std::filesystem::absolute(options.path, error);
    if (error) {
      return Internal("cannot resolve the database path " + options.path.string() + ": " +
                      error.message());
    }
    PORTICO_RETURN_IF_ERROR(CreatePrivateFile(path));
    filename = path.string();
  }

  std::vector<std::unique_ptr<SqliteConnection>> connections;
  for (int i = 0; i < options.pool_size; ++i) {
    PORTICO_ASSIGN_OR_RETURN(
        std::unique_ptr<SqliteConnection> connection,
        SqliteConnection::Open(filename, /*uri=*/options.in_memory, options.busy_timeout));
    // WAL is a property of the file: setting it once, on the first connection, is enough.
    if (i == 0 && !options.in_memory) PORTICO_RETURN_IF_ERROR(EnableWal(*connection, path));
    connections.push_back(std::move(connection));
  }
  return std::unique_ptr<SqlDatabase>(
      new SqliteDatabase(std::move(connections), options.busy_timeout));
}

}  // namespace portico::store

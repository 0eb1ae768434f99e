// SQL access for the services: one interface over SQLite (the embedded default) and PostgreSQL
// (scale-out), so a service's store/ code runs unchanged on either.
//
// Portability rules every caller follows:
//   - Placeholders are PostgreSQL-style `$1, $2, ...`. A placeholder may be repeated and may appear
//     in any order; every number from 1 to the highest one used must appear, and exactly that many
//     parameters must be given. `?`, `:name` and `@name` are refused.
//   - One statement per call. Only migrations may hold several statements.
//   - The SQL is the subset both engines run: `INSERT ... ON CONFLICT DO NOTHING/UPDATE`,
//     `RETURNING`, integers, text, bytes (SqlBlob), doubles. Schemas are written per dialect in
//     Migration, because SQLite wants `STRICT` tables and PostgreSQL its own types.
//   - Like PostgreSQL, a statement that fails inside a transaction aborts the whole transaction:
//     later statements fail and the transaction is rolled back even if the callback returns OK.
//     Express "insert unless present" with `ON CONFLICT`, not by catching Conflict.
//
// Every call blocks on disk or network I/O. Call the database only from the blocking pool, never
// from an I/O thread (the HTTP layer arranges this for handlers).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/status.h"

namespace portico::store {

// Bytes stored as BLOB (SQLite) or BYTEA (PostgreSQL), as opposed to TEXT, which must be UTF-8.
struct SqlBlob {
  std::string bytes;

  friend bool operator==(const SqlBlob&, const SqlBlob&) = default;
};

// Integer types whose every value fits int64_t. char is left out: it is usually meant as text.
template <typename T>
concept SqlInteger = std::integral<T> && !std::same_as<T, char> &&
                     (std::is_signed_v<T> || sizeof(T) < sizeof(int64_t));

// One value: a parameter bound to a placeholder, or a column of a result row.
//
// Converts implicitly from what callers hold, so parameters read naturally:
//   db.Execute("SELECT id FROM users WHERE org = $1 AND age > $2", {org_id, 18});
// nullptr and std::nullopt are NULL; an empty std::optional<T> is NULL, a full one is its value;
// bool is 0/1; signed integers and unsigned ones narrower than 64 bits are INTEGER (uint64_t and
// size_t do not convert: values above INT64_MAX cannot be stored, so convert them explicitly);
// a null `const char*` is NULL. Text is bound as TEXT and must be valid UTF-8 without NUL bytes
// (binding fails otherwise); bytes go in a SqlBlob.
class SqlValue {
 public:
  using Variant = std::variant<std::nullptr_t, int64_t, double, std::string, SqlBlob>;

  SqlValue() = default;        // NULL
  SqlValue(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  SqlValue(std::nullopt_t) {}  // NOLINT(google-explicit-constructor)
  template <SqlInteger T>
  SqlValue(T value) : v_(static_cast<int64_t>(value)) {}  // NOLINT(google-explicit-constructor)
  template <std::floating_point T>
  SqlValue(T value) : v_(static_cast<double>(value)) {}  // NOLINT(google-explicit-constructor)
  SqlValue(const char* text)                             // NOLINT(google-explicit-constructor)
      : v_(text == nullptr ? Variant(nullptr) : Variant(std::string(text))) {}
  SqlValue(std::string text) : v_(std::move(text)) {}  // NOLINT(google-explicit-constructor)
  SqlValue(std::string_view text)                      // NOLINT(google-explicit-constructor)
      : v_(std::string(text)) {}
  SqlValue(SqlBlob blob) : v_(std::move(blob)) {}  // NOLINT(google-explicit-constructor)
  template <typename T>
  SqlValue(const std::optional<T>& value)  // NOLINT(google-explicit-constructor)
      : SqlValue(value.has_value() ? SqlValue(*value) : SqlValue()) {}

  const Variant& variant() const { return v_; }
  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }

  // "NULL", "INTEGER", "REAL", "TEXT" or "BLOB": for messages about types, never about values.
  std::string_view type_name() const;

  friend bool operator==(const SqlValue&, const SqlValue&) = default;

 private:
  Variant v_;
};

// The parameters of one statement: element i is bound to `$(i+1)`.
using SqlParams = std::vector<SqlValue>;

// One row of a result. Columns are addressed by position (from 0) or by name (the name the
// statement gives the column, e.g. with `AS`; the first match wins).
//
// The typed accessors are for columns whose type the caller knows from the schema. Asking for a
// column that does not exist, a NULL through a non-optional accessor, or the wrong type (Int of
// a TEXT value, Text of a BLOB, ...) is a bug in the caller and aborts the process with a message
// naming the column and the types, never the value. The Optional* accessors return nullopt for
// NULL and abort on a wrong type like the others. Real() also accepts an INTEGER value.
//
// A row is a plain value: copyable, and safe to read from several threads at once.
class SqlRow {
 public:
  SqlRow(std::shared_ptr<const std::vector<std::string>> column_names,
         std::vector<SqlValue> values);

  size_t size() const { return values_.size(); }
  const std::string& column_name(size_t col) const;
  const SqlValue& value(size_t col) const;

  // The position of the column called `name`, or nullopt.
  std::optional<size_t> FindColumn(std::string_view name) const;
  // The position of the column called `name`; aborts if there is none.
  size_t ColumnIndex(std::string_view name) const;

  bool IsNull(size_t col) const;
  int64_t Int(size_t col) const;
  double Real(size_t col) const;
  const std::string& Text(size_t col) const;
  const std::string& Blob(size_t col) const;  // the bytes of a BLOB value
  std::optional<int64_t> OptionalInt(size_t col) const;
  std::optional<double> OptionalReal(size_t col) const;
  std::optional<std::string> OptionalText(size_t col) const;
  std::optional<std::string> OptionalBlob(size_t col) const;

  bool IsNull(std::string_view name) const { return IsNull(ColumnIndex(name)); }
  int64_t Int(std::string_view name) const { return Int(ColumnIndex(name)); }
  double Real(std::string_view name) const { return Real(ColumnIndex(name)); }
  const std::string& Text(std::string_view name) const { return Text(ColumnIndex(name)); }
  const std::string& Blob(std::string_view name) const { return Blob(ColumnIndex(name)); }
  std::optional<int64_t> OptionalInt(std::string_view name) const {
    return OptionalInt(ColumnIndex(name));
  }
  std::optional<double> OptionalReal(std::string_view name) const {
    return OptionalReal(ColumnIndex(name));
  }
  std::optional<std::string> OptionalText(std::string_view name) const {
    return OptionalText(ColumnIndex(name));
  }
  std::optional<std::string> OptionalBlob(std::string_view name) const {
    return OptionalBlob(ColumnIndex(name));
  }

 private:
  const SqlValue& Checked(size_t col, size_t want_index, std::string_view want) const;

  std::shared_ptr<const std::vector<std::string>> column_names_;
  std::vector<SqlValue> values_;
};

// What one statement returned.
struct SqlResult {
  // The rows the statement produced (a SELECT, or an INSERT/UPDATE/DELETE with RETURNING).
  std::vector<SqlRow> rows;
  // Rows inserted, updated or deleted by an INSERT, UPDATE or DELETE statement itself (not by
  // triggers or cascades); 0 for every other statement.
  int64_t rows_affected = 0;

  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  // Row i; aborts if there is no such row (check size() first).
  const SqlRow& operator[](size_t i) const;
  std::vector<SqlRow>::const_iterator begin() const { return rows.begin(); }
  std::vector<SqlRow>::const_iterator end() const { return rows.end(); }
};

// One step of a component's schema. Versions of a component start anywhere above 0 and strictly
// increase; a version, once released, never changes its name or SQL — a change is a new version.
// Each dialect's SQL may hold several statements; it runs inside the migration's transaction and
// so must not contain BEGIN/COMMIT (on SQLite, nor `PRAGMA foreign_keys`, which is ignored inside
// a transaction: use `PRAGMA defer_foreign_keys = ON` when rebuilding a table).
struct Migration {
  int version = 0;
  std::string name;
  std::string sqlite_sql;
  std::string postgres_sql;
};

// One connection inside a transaction, handed to the callback of SqlDatabase::Transaction or
// ReadTransaction. Valid only during that callback, and only on the thread running it: not
// thread-safe, never to be kept.
class SqlSession {
 public:
  virtual ~SqlSession() = default;

  // Runs one statement inside the transaction and returns its rows. Fails with InvalidArgument
  // for SQL the portable subset refuses (several statements, wrong placeholders or parameter
  // count, transaction control such as BEGIN/COMMIT/SAVEPOINT, text that is not UTF-8, a write in
  // a ReadTransaction, a violated NOT NULL/CHECK/foreign key/type constraint), Conflict for a
  // violated UNIQUE or PRIMARY KEY constraint, Unavailable when the database stayed busy past the
  // busy timeout, Internal otherwise (including SQL syntax errors, which are bugs). Messages never
  // contain parameter values. After any failure the transaction is aborted: every later call
  // fails and the transaction is rolled back.
  virtual StatusOr<SqlResult> Execute(std::string_view sql, const SqlParams& params = {}) = 0;
};

// The body of a transaction. Its status decides commit (OK) or rollback (anything else).
using SqlTransactionFn = std::function<Status(SqlSession&)>;

// A database: a small pool of connections to one SQLite file or one PostgreSQL database.
//
// Thread-safe: any number of threads may call any method at once. Every method blocks (see the
// top of this file). A transaction callback must use only the session it is given: calling this
// SqlDatabase from inside the callback works outside the transaction at best, and may wait for a
// connection or lock held by the callback itself (failing with Unavailable after the busy
// timeout); a write through it from inside a write transaction fails at once with Internal.
//
// The object must outlive every call on it; destroying it while a call is running is a bug.
class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;

  // "sqlite" or "postgres": which field of Migration this database runs, and a hint for the rare
  // query that has to differ.
  virtual std::string_view dialect() const = 0;

  // Runs one statement in its own transaction (autocommit) and returns its rows. Errors as for
  // SqlSession::Execute; a failed statement changed nothing.
  virtual StatusOr<SqlResult> Execute(std::string_view sql, const SqlParams& params = {}) = 0;

  // Runs `fn` inside a write transaction on one connection. If `fn` returns OK and none of its
  // statements failed, commits and returns OK (or the commit's error, after rolling back).
  // Otherwise rolls back and returns fn's status, or the first failed statement's if fn returned
  // OK. Write transactions are serialized; plain reads continue alongside. Waiting to begin or
  // commit is bounded by the busy timeout, after which this returns Unavailable without calling
  // or committing `fn`. If `fn` throws, the transaction is rolled back and the exception
  // propagates. `fn` runs once: it is never retried.
  virtual Status Transaction(const SqlTransactionFn& fn) = 0;

  // Runs `fn` inside a read-only transaction: every statement sees the same consistent snapshot,
  // and concurrent writers neither block it nor are blocked by it (SQLite WAL; in-memory SQLite
  // databases do block). A statement that would write fails with InvalidArgument. Returns fn's
  // status, or the first failed statement's.
  virtual Status ReadTransaction(const SqlTransactionFn& fn) = 0;

  // Brings `component`'s schema (e.g. "ims") up to date: records applied versions in the table
  // schema_migrations(component, version, name, applied_at) — created if missing — and applies
  // each missing version in increasing order, each in its own transaction together with its
  // record. Safe to call concurrently from several processes: a version is applied once.
  //
  // Returns OK when every version is applied (at once, if none was missing). Fails, before
  // applying anything, with InvalidArgument if `migrations` is malformed (empty component,
  // versions not strictly increasing from above 0, an empty name or empty SQL for this dialect),
  // and with PreconditionFailed if the database holds a version of `component` newer than the
  // last one given ("database schema version N of 'ims' is newer than this binary (M)"), a
  // version this binary does not list, a version whose recorded name differs from the given
  // one, or a missing version older than the newest applied one (versions apply in order only). If
  // a migration fails, it is rolled back, earlier ones stay applied, and the error names the
  // migration.
  virtual Status Migrate(std::string_view component, std::span<const Migration> migrations) = 0;
};

}  // namespace portico::store

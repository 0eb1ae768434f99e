#include "store/sqlite_connection.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cmath>
#include <utility>

namespace portico::store {
namespace {

// Statements come from string literals in the code, so the cache stays small; the bound only
// protects against a caller that builds SQL text dynamically.
constexpr size_t kMaxCachedStatements = 256;
// Far above any real statement; keeps placeholder numbers and vectors small.
constexpr int kMaxPlaceholder = 32766;

constexpr std::array<std::string_view, 6> kTransactionKeywords = {
    "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"};

// Skips whitespace, `-- line` and `/* block */` comments from the front of `sql`.
std::string_view SkipSpaceAndComments(std::string_view sql) {
  for (;;) {
    size_t i = 0;
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
    sql.remove_prefix(i);
    if (sql.starts_with("--")) {
      size_t end = sql.find('\n');
      sql = end == std::string_view::npos ? std::string_view() : sql.substr(end + 1);
    } else if (sql.starts_with("/*")) {
      size_t end = sql.find("*/", 2);
      sql = end == std::string_view::npos ? std::string_view() : sql.substr(end + 2);
    } else {
      return sql;
    }
  }
}

bool IsTransactionControl(std::string_view sql) {
  sql = SkipSpaceAndComments(sql);
  size_t n = 0;
  while (n < sql.size() && std::isalpha(static_cast<unsigned char>(sql[n]))) ++n;
  std::string word(sql.substr(0, n));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::find(kTransactionKeywords.begin(), kTransactionKeywords.end(), word) !=
         kTransactionKeywords.end();
}

// `$N` with N in 1..kMaxPlaceholder and no leading zero, or 0 for anything else.
int PlaceholderNumber(const char* name) {
  if (name == nullptr || name[0] != '$' || name[1] < '1' || name[1] > '9') return 0;
  int number = 0;
  for (const char* p = name + 1; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return 0;
    number = number * 10 + (*p - '0');
    if (number > kMaxPlaceholder) return 0;
  }
  return number;
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF) without NUL,
// which PostgreSQL refuses in text.
bool IsPortableText(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

// Resets a statement and drops its bindings when a run ends, however it ends, so the statement
// holds no read snapshot and no pointer into the caller's parameters.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace

Status SqliteStatus(int extended_rc, std::string_view message, std::string_view context) {
  std::string text = "sqlite: ";
  if (!context.empty()) {
    text += context;
    text += ": ";
  }
  text += message;
  switch (extended_rc & 0xFF) {
    case SQLITE_CONSTRAINT:
      if (extended_rc == SQLITE_CONSTRAINT_UNIQUE || extended_rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
          extended_rc == SQLITE_CONSTRAINT_ROWID) {
        return Conflict(std::move(text));
      }
      return InvalidArgument(std::move(text));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(text));
    default:
      return Internal(std::move(text));
  }
}

void SqliteConnection::StatementDeleter::operator()(SqliteStatement* s) const {
  sqlite3_finalize(s->stmt);
  delete s;
}

StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& filename, bool uri, std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (uri) flags |= SQLITE_OPEN_URI;
  int rc = sqlite3_open_v2(filename.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return SqliteStatus(rc, message, "cannot open the database");
  }
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(std::clamp<int64_t>(busy_timeout.count(), 0, INT_MAX)));
  // Refuse SQL that could corrupt the file (writable_schema and the like).
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  for (const char* pragma : {"PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL"}) {
    rc = connection->ExecRaw(pragma);
    if (rc != SQLITE_OK) return connection->ErrorStatus(rc, "configuring the connection");
  }
  return connection;
}

SqliteConnection::~SqliteConnection() {
  cache_.clear();  // finalizes every statement, which close_v2 would otherwise wait for
  sqlite3_close_v2(db_);
}

StatusOr<SqliteConnection::StatementPtr> SqliteConnection::PrepareNew(std::string_view sql) {
  if (sql.size() > static_cast<size_t>(INT_MAX)) return InvalidArgument("the SQL is too long");
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return ErrorStatus(rc, "cannot prepare the statement");
  }
  if (raw == nullptr) return InvalidArgument("the SQL holds no statement");
  StatementPtr statement(new SqliteStatement());
  statement->stmt = raw;

  std::string_view rest = sql.substr(static_cast<size_t>(tail - sql.data()));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    sqlite3_stmt* extra = nullptr;
    rc = sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &extra, nullptr);
    sqlite3_finalize(extra);
    if (rc != SQLITE_OK || extra != nullptr) {
      return InvalidArgument("the SQL holds more than one statement; only migrations may");
    }
  }

  const int bind_count = sqlite3_bind_parameter_count(raw);
  std::vector<bool> used;
  for (int i = 1; i <= bind_count; ++i) {
    const char* name = sqlite3_bind_parameter_name(raw, i);
    int number = PlaceholderNumber(name);
    if (number == 0) {
      return InvalidArgument("placeholders must be $1, $2, ...; found '" +
                             std::string(name == nullptr ? "?" : name) + "'");
    }
    statement->placeholder_numbers.push_back(number);
    if (static_cast<size_t>(number) > used.size()) used.resize(number, false);
    used[number - 1] = true;
  }
  auto unused = std::find(used.begin(), used.end(), false);
  if (unused != used.end()) {
    return InvalidArgument("placeholder $" + std::to_string(unused - used.begin() + 1) +
                           " is not used although a higher one is");
  }
  statement->parameter_count = static_cast<int>(used.size());
  statement->read_only = sqlite3_stmt_readonly(raw) != 0;
  statement->transaction_control = IsTransactionControl(sql);
  return statement;
}

StatusOr<SqliteStatement*> SqliteConnection::Prepare(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return it->second.get();
  PORTICO_ASSIGN_OR_RETURN(StatementPtr statement, PrepareNew(sql));
  if (cache_.size() >= kMaxCachedStatements) cache_.clear();
  SqliteStatement* raw = statement.get();
  cache_.emplace(std::string(sql), std::move(statement));
  return raw;
}

StatusOr<SqlResult> SqliteConnection::Run(SqliteStatement& statement, const SqlParams& params) {
  sqlite3_stmt* stmt = statement.stmt;
  StatementReset reset(stmt);
  if (params.size() != static_cast<size_t>(statement.parameter_count)) {
    return InvalidArgument("the statement takes " + std::to_string(statement.parameter_count) +
                           " parameters but " + std::to_string(params.size()) + " were given");
  }
  for (size_t i = 0; i < statement.placeholder_numbers.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    const int number = statement.placeholder_numbers[i];
    const SqlValue::Variant& value = params[number - 1].variant();
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(value)) {
      rc = sqlite3_bind_null(stmt, index);
    } else if (const int64_t* v = std::get_if<int64_t>(&value)) {
      rc = sqlite3_bind_int64(stmt, index, *v);
    } else if (const double* d = std::get_if<double>(&value)) {
      if (std::isnan(*d)) {
        return InvalidArgument("parameter $" + std::to_string(number) +
                               " is NaN, which SQLite stores as NULL");
      }
      rc = sqlite3_bind_double(stmt, index, *d);
    } else if (const std::string* text = std::get_if<std::string>(&value)) {
      if (!IsPortableText(*text)) {
        return InvalidArgument("text parameter $" + std::to_string(number) +
                               " is not valid UTF-8 or contains NUL; bind bytes as SqlBlob");
      }
      rc = sqlite3_bind_text64(stmt, index, text->data(), text->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      const std::string& bytes = std::get<SqlBlob>(value).bytes;
      // A null pointer would bind NULL, so an empty blob is bound as a zero-length blob.
      rc = bytes.empty()
               ? sqlite3_bind_zeroblob(stmt, index, 0)
               : sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_STATIC);
    }
    if (rc != SQLITE_OK) {
      return ErrorStatus(rc, "cannot bind parameter $" + std::to_string(number));
    }
  }

  SqlResult result;
  // Columns are read after the first step: a step may re-prepare the statement after a schema
  // change, and `SELECT *` then has different columns.
  int column_count = 0;
  std::shared_ptr<std::vector<std::string>> names;
  const int64_t total_changes_before = sqlite3_total_changes64(db_);
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return ErrorStatus(rc, "");
    if (names == nullptr) {
      column_count = sqlite3_column_count(stmt);
      names = std::make_shared<std::vector<std::string>>();
      names->reserve(column_count);
      for (int c = 0; c < column_count; ++c) {
        const char* name = sqlite3_column_name(stmt, c);
        names->emplace_back(name == nullptr ? "" : name);
      }
    }
    std::vector<SqlValue> values;
    values.reserve(column_count);
    for (int c = 0; c < column_count; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_TEXT: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          const int size = sqlite3_column_bytes(stmt, c);
          if (text == nullptr) return Internal("sqlite: out of memory reading a column");
          values.emplace_back(std::string(text, size));
          break;
        }
        case SQLITE_BLOB: {
          const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          const int size = sqlite3_column_bytes(stmt, c);
          if (blob == nullptr && size != 0) {
            return Internal("sqlite: out of memory reading a column");
          }
          values.emplace_back(SqlBlob{size == 0 ? std::string() : std::string(blob, size)});
          break;
        }
        default:
          values.emplace_back(nullptr);
          break;
      }
    }
    result.rows.emplace_back(names, std::move(values));
  }
  // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE, even across DDL; only
  // trust it when this statement changed something.
  if (!statement.read_only && sqlite3_total_changes64(db_) != total_changes_before) {
    result.rows_affected = sqlite3_changes64(db_);
  }
  return result;
}

Status SqliteConnection::RunScript(std::string_view script) {
  // Statement by statement (what sqlite3_exec does), so that transaction control can be refused
  // before it runs: a COMMIT inside a migration would commit half of it.
  if (script.size() > static_cast<size_t>(INT_MAX)) return InvalidArgument("the SQL is too long");
  const char* next = script.data();
  const char* const end = script.data() + script.size();
  while (next < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_, next, static_cast<int>(end - next), &raw, &tail);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, &sqlite3_finalize);
    if (rc != SQLITE_OK) return ErrorStatus(rc, "cannot prepare a migration statement");
    if (tail == nullptr || tail <= next) break;
    std::string_view text(next, static_cast<size_t>(tail - next));
    next = tail;
    if (stmt == nullptr) continue;  // only white space or comments
    if (IsTransactionControl(text)) {
      return InvalidArgument(
          "a migration must not contain transaction control (BEGIN, COMMIT, SAVEPOINT, ...)");
    }
    if (sqlite3_bind_parameter_count(stmt.get()) > 0) {
      return InvalidArgument("a migration statement cannot have placeholders");
    }
    do {
      rc = sqlite3_step(stmt.get());
    } while (rc == SQLITE_ROW);
    if (rc != SQLITE_DONE) return ErrorStatus(rc, "");
  }
  return Status::Ok();
}

int SqliteConnection::ExecRaw(const char* sql) {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

bool SqliteConnection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

void SqliteConnection::RollbackIfInTransaction() {
  if (InTransaction()) ExecRaw("ROLLBACK");
}

Status SqliteConnection::ErrorStatus(int rc, std::string_view context) const {
  return SqliteStatus(rc, sqlite3_errmsg(db_), context);
}

}  // namespace portico::store

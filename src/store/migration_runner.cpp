#include "store/migration_runner.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace portico::store {
namespace {

constexpr std::string_view kSqliteMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, "
    "applied_at INTEGER NOT NULL, PRIMARY KEY (component, version)) STRICT";
constexpr std::string_view kPostgresMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "component TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, "
    "applied_at BIGINT NOT NULL, PRIMARY KEY (component, version))";

// version -> name, as recorded in the database.
using RecordedVersions = std::map<int64_t, std::string>;

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string Describe(const Migration& m, std::string_view component) {
  return "migration " + std::to_string(m.version) + " " + Quoted(m.name) + " of " +
         Quoted(component);
}

StatusOr<std::string_view> SqlFor(const Migration& m, std::string_view dialect) {
  if (dialect == "sqlite") return std::string_view(m.sqlite_sql);
  if (dialect == "postgres") return std::string_view(m.postgres_sql);
  return Internal("migrations do not know the SQL dialect " + Quoted(dialect));
}

Status Validate(std::string_view component, std::span<const Migration> migrations,
                std::string_view dialect) {
  if (component.empty()) return InvalidArgument("a migration component needs a name");
  int previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return InvalidArgument("migration versions of " + Quoted(component) +
                             " must increase strictly from above 0; " + std::to_string(m.version) +
                             " follows " + std::to_string(previous));
    }
    previous = m.version;
    if (m.name.empty()) {
      return InvalidArgument("migration " + std::to_string(m.version) + " of " + Quoted(component) +
                             " has no name");
    }
    PORTICO_ASSIGN_OR_RETURN(std::string_view sql, SqlFor(m, dialect));
    if (sql.find_first_not_of(" \t\r\n;") == std::string_view::npos) {
      return InvalidArgument(Describe(m, component) + " has no " + std::string(dialect) + " SQL");
    }
  }
  return Status::Ok();
}

// Reads through a SqlDatabase (autocommit) or a SqlSession (inside a transaction).
template <typename Executor>
StatusOr<RecordedVersions> ReadRecorded(Executor& executor, std::string_view component) {
  PORTICO_ASSIGN_OR_RETURN(
      SqlResult result,
      executor.Execute("SELECT version, name FROM schema_migrations WHERE component = $1",
                       {component}));
  RecordedVersions recorded;
  for (const SqlRow& row : result) recorded.emplace(row.Int(0), row.Text(1));
  return recorded;
}

// Refuses a database that is ahead of this binary or disagrees with it about a version.
Status CheckRecorded(const RecordedVersions& recorded, std::string_view component,
                     std::span<const Migration> migrations) {
  const int64_t known = migrations.empty() ? 0 : migrations.back().version;
  if (!recorded.empty() && recorded.rbegin()->first > known) {
    return Status(Code::kPreconditionFailed,
                  "database schema version " + std::to_string(recorded.rbegin()->first) + " of " +
                      Quoted(component) + " is newer than this binary (" + std::to_string(known) +
                      ")");
  }
  std::map<int64_t, const Migration*> by_version;
  for (const Migration& m : migrations) by_version.emplace(m.version, &m);
  for (const auto& [version, name] : recorded) {
    auto it = by_version.find(version);
    if (it == by_version.end()) {
      return Status(Code::kPreconditionFailed,
                    "database schema version " + std::to_string(version) + " " + Quoted(name) +
                        " of " + Quoted(component) + " is unknown to this binary");
    }
    if (it->second->name != name) {
      return Status(Code::kPreconditionFailed,
                    "database schema version " + std::to_string(version) + " of " +
                        Quoted(component) + " is recorded as " + Quoted(name) +
                        " but this binary calls it " + Quoted(it->second->name));
    }
  }
  for (const Migration& m : migrations) {
    if (!recorded.empty() && !recorded.contains(m.version) &&
        m.version < recorded.rbegin()->first) {
      return Status(Code::kPreconditionFailed,
                    "schema version " + std::to_string(m.version) + " " + Quoted(m.name) + " of " +
                        Quoted(component) + " is missing from the database, which already has " +
                        "version " + std::to_string(recorded.rbegin()->first));
    }
  }
  return Status::Ok();
}

int64_t UnixSecondsNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status RunMigrations(SqlDatabase& db, std::string_view component,
                     std::span<const Migration> migrations,
                     const MigrationScriptRunner& run_script) {
  const std::string_view dialect = db.dialect();
  PORTICO_RETURN_IF_ERROR(Validate(component, migrations, dialect));

  std::string_view create_table;
  if (dialect == "sqlite") {
    create_table = kSqliteMigrationsTable;
  } else if (dialect == "postgres") {
    create_table = kPostgresMigrationsTable;
  } else {
    return Internal("migrations do not know the SQL dialect " + Quoted(dialect));
  }
  PORTICO_RETURN_IF_ERROR(db.Execute(create_table).status());

  PORTICO_ASSIGN_OR_RETURN(RecordedVersions recorded, ReadRecorded(db, component));
  PORTICO_RETURN_IF_ERROR(CheckRecorded(recorded, component, migrations));

  for (const Migration& m : migrations) {
    if (recorded.contains(m.version)) continue;
    Status applied = db.Transaction([&](SqlSession& session) -> Status {
      // Another process may have moved on since the first look.
      PORTICO_ASSIGN_OR_RETURN(RecordedVersions now, ReadRecorded(session, component));
      PORTICO_RETURN_IF_ERROR(CheckRecorded(now, component, migrations));
      if (now.contains(m.version)) return Status::Ok();

      PORTICO_ASSIGN_OR_RETURN(std::string_view sql, SqlFor(m, dialect));
      Status ran = run_script(session, sql);
      if (!ran.ok()) {
        return Status(ran.code(), ran.error(),
                      Describe(m, component) + " failed: " + ran.message());
      }
      return session
          .Execute(
              "INSERT INTO schema_migrations (component, version, name, applied_at) "
              "VALUES ($1, $2, $3, $4)",
              {component, m.version, m.name, UnixSecondsNow()})
          .status();
    });
    PORTICO_RETURN_IF_ERROR(applied);
  }
  return Status::Ok();
}

}  // namespace portico::store

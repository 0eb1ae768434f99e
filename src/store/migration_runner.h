// The engine-independent half of SqlDatabase::Migrate: checking the list, the schema_migrations
// table, refusing databases that are newer or disagree, and applying what is missing. Each
// SqlDatabase implementation supplies only how a multi-statement script runs in a session.
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "core/status.h"
#include "store/sql.h"

namespace portico::store {

// Runs `script` (one or more statements, no parameters) on the session's connection, inside the
// session's transaction. Returns the first statement's error, mapped as for SqlSession::Execute.
using MigrationScriptRunner = std::function<Status(SqlSession& session, std::string_view script)>;

// Implements SqlDatabase::Migrate for `db` (see that contract for success and failure), choosing
// each migration's SQL by db.dialect() and running it through `run_script`. Thread-safe as far as
// `db` is. Every version is checked again inside the transaction that applies it, and its record
// has a primary key, so concurrent runs against one database apply a version at most once (on
// SQLite, whose write transactions are serialized, the later run then simply skips it).
Status RunMigrations(SqlDatabase& db, std::string_view component,
                     std::span<const Migration> migrations,
                     const MigrationScriptRunner& run_script);

}  // namespace portico::store

// The SQLite implementation of SqlDatabase (sql.h): the embedded default.
//
// A database file is opened in WAL mode (readers never wait for the writer) with
// synchronous=NORMAL (a power cut may lose the last transactions, never corrupt the file),
// foreign keys enforced, and a small pool of connections. Write transactions are serialized
// within the process; other processes sharing the file are waited for up to the busy timeout.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "core/status.h"
#include "store/sql.h"

namespace portico::store {

struct SqliteOptions {
  // The database file. Created with mode 0600 (before the umask) if missing; its directory must
  // exist. The mode of an existing file is left alone. Ignored when in_memory is set.
  std::filesystem::path path;
  // A private database in memory instead of a file, shared by this database's pooled connections
  // and dropped when the SqlDatabase is destroyed; every OpenSqlite call makes a new, empty one.
  // For tests and demos: there is no WAL, so a write transaction blocks readers until it ends.
  bool in_memory = false;
  // Connections kept open; at most this many calls run at once, and others wait for one.
  int pool_size = 4;
  // How long a call waits for a connection, the in-process write lock, or a lock held by another
  // process, before failing with Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
};

// Opens (creating if needed) the database described by `options` and returns it ready to use.
// Fails with InvalidArgument for bad options (empty path, pool_size < 1, negative busy_timeout),
// Internal when the file cannot be created or opened or WAL mode cannot be enabled, Unavailable
// when another process kept the file locked past the busy timeout. Blocking.
StatusOr<std::unique_ptr<SqlDatabase>> OpenSqlite(const SqliteOptions& options);

}  // namespace portico::store

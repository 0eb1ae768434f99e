// The filesystem implementation of BlobStore (blob_store.h).
//
// Layout under the root: blob <hex> lives at `<hex[0:2]>/<hex>` (`layout` names the layout; a store
// of the former `<hex[0:2]>/<hex[2:4]>/<hex>` is moved when opened); writers stream into
// `tmp/` and commit by fsync, rename into place and fsync of the folder, so a blob is either
// absent or complete, even after a power cut. Folders are made 0700 and files 0600 (before the
// umask). Several processes may share one root, e.g. replicas on a shared file system. A
// WriteHint::kStreaming writer writes its aligned pieces with O_DIRECT and native AIO (falling back
// to the page cache where the file system or kernel lacks them); see docs/decisions.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "core/status.h"
#include "store/blob_store.h"

namespace portico::store {

struct FsBlobStoreOptions {
  // The store's folder. Created (with missing parents) if absent; an existing folder's mode is
  // left alone.
  std::filesystem::path root;
  // Temporary files in `tmp/` not modified for this long are left over from a crash or a killed
  // process, and are deleted when the store is opened. An upload idle for longer loses its file:
  // its Commit then fails.
  std::chrono::seconds stale_temp_age{3600};
};

// Opens (creating if needed) the store at `options.root`, moves a store of the former layout to
// the current one, and deletes stale temporary files. Fails with InvalidArgument for an empty root,
// PreconditionFailed ("unknown_blob_layout") for a layout newer than this version's, Internal when
// the folders cannot be made or read. Blocking.
StatusOr<std::unique_ptr<BlobStore>> OpenFsBlobStore(const FsBlobStoreOptions& options);

}  // namespace portico::store

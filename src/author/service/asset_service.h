// The author's folders and assets (SPEC A1, upload and folders): the rules, without HTTP or SQL.
// Paths are checked with protocol::NormalizeDamPath; originals stream into the BlobStore in
// constant memory and are recorded only once complete, so an upload that fails or is cut off
// leaves nothing visible. Every change takes the next `seq` of the author (the publish
// protocol's order). Thread-safe; every method blocks (database, files): call it from the
// handler pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "author/store/author_store.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/blob_store.h"

namespace portico::author {

// Pulls the next bytes of an upload into `buf`: the count, 0 at the end, or an error (the client
// went away, the body is too large, ...). The HTTP layer adapts its BodyReader to this.
using ByteSource = std::function<StatusOr<size_t>(std::span<char> buf)>;

struct FolderListing {
  std::string path;
  std::vector<ChildRecord> children;
  std::string next_cursor;  // "" when this is the last page
};

struct AssetVersions {
  AssetRecord asset;
  std::vector<AssetVersionRecord> versions;
};

class AssetService {
 public:
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMaxPageSize = 1000;

  AssetService(AuthorStore& store, store::BlobStore& blobs, const Clock& clock);

  // Creates the folder `path`. With `parents`, creates the missing ancestors too and succeeds if
  // the folder already exists (like mkdir -p); without, the parent must exist (404
  // parent_not_found) and the folder must not (409 folder_exists). InvalidArgument/invalid_path
  // for a path that breaks the DAM path rule.
  StatusOr<FolderRecord> CreateFolder(std::string_view path, bool parents);

  // One page of the children of folder `path`: folders first, then assets, each by name.
  // `cursor` is "" or the next_cursor of the previous page; `limit` 1..kMaxPageSize.
  StatusOr<FolderListing> ListFolder(std::string_view path, int limit, std::string_view cursor);

  // Checks an upload's target before any body byte is read (so a refused upload never sends its
  // bytes): the path, and that the parent folder exists unless `parents`.
  StatusOr<std::string> CheckUploadTarget(std::string_view path, bool parents);

  // Streams `source` into the blob store and records it as the next version of the asset at
  // `path` (the first version if new). Refuses a zero-byte file (400 empty_file). If `source`
  // fails, nothing is recorded and the partial blob is discarded. With `parents`, missing
  // folders are created first.
  StatusOr<AssetRecord> Upload(std::string_view path, bool parents, const ByteSource& source);

  StatusOr<AssetRecord> GetAsset(std::string_view path);
  StatusOr<AssetVersions> GetVersions(std::string_view path);

  // Opens the current version's bytes for download.
  StatusOr<std::unique_ptr<store::BlobReader>> OpenOriginal(const AssetRecord& asset);

  // The media type for a file name, from its extension (application/octet-stream if unknown).
  static std::string ContentTypeFor(std::string_view name);

 private:
  AuthorStore& store_;
  store::BlobStore& blobs_;
  const Clock& clock_;
};

}  // namespace portico::author

#include "author/service/asset_service.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/crypto/encoding.h"
#include "protocol/dam_path.h"
#include "store/pipelined_blob_writer.h"

namespace portico::author {
namespace {

// An upload is read in pieces of this size, each read while the previous one is hashed and
// written on the writer's thread (store::PipelinedBlobWriter): two pieces in memory per upload.
constexpr size_t kUploadPiece = 1024 * 1024;

// Cursors are opaque to clients: base64url of "f:<name>" or "a:<name>".
std::string EncodeCursor(const ChildRecord& last) {
  return crypto::Base64UrlEncode(std::string(last.is_folder ? "f:" : "a:") + last.name);
}

StatusOr<ListCursor> DecodeCursor(std::string_view cursor) {
  if (cursor.empty()) return ListCursor{};
  auto raw = crypto::Base64UrlDecode(cursor);
  if (!raw.ok() || raw->size() < 2 || (*raw)[1] != ':' || ((*raw)[0] != 'f' && (*raw)[0] != 'a')) {
    return Status(Code::kInvalidArgument, "invalid_cursor", "the cursor is not one this API gave");
  }
  return ListCursor{(*raw)[0] == 'a', raw->substr(2)};
}

}  // namespace

AssetService::AssetService(AuthorStore& store, store::BlobStore& blobs, const Clock& clock)
    : store_(store), blobs_(blobs), clock_(clock) {}

StatusOr<FolderRecord> AssetService::CreateFolder(std::string_view raw, bool parents) {
  PORTICO_ASSIGN_OR_RETURN(std::string path, protocol::NormalizeDamPath(raw));
  if (path == protocol::kDamRoot) {
    if (parents) return store_.GetFolder(path);
    return Status(Code::kConflict, "folder_exists", "the folder /content/dam always exists");
  }
  if (!parents) return store_.CreateFolder(path, clock_.NowSeconds());
  // mkdir -p: each missing ancestor from the top; racing creators are fine.
  std::vector<std::string> chain;
  for (std::string p = path; p != protocol::kDamRoot; p = protocol::DamParent(p)) {
    chain.push_back(p);
  }
  std::reverse(chain.begin(), chain.end());
  for (const auto& p : chain) {
    PORTICO_ASSIGN_OR_RETURN(bool exists, store_.FolderExists(p));
    if (exists) continue;
    auto made = store_.CreateFolder(p, clock_.NowSeconds());
    if (!made.ok() && made.status().error() != "folder_exists") return made.status();
  }
  return store_.GetFolder(path);
}

StatusOr<FolderListing> AssetService::ListFolder(std::string_view raw, int limit,
                                                 std::string_view cursor_text) {
  PORTICO_ASSIGN_OR_RETURN(std::string path, protocol::NormalizeDamPath(raw));
  if (limit < 1 || limit > kMaxPageSize) {
    return InvalidArgument("limit must be 1 to " + std::to_string(kMaxPageSize));
  }
  PORTICO_ASSIGN_OR_RETURN(ListCursor cursor, DecodeCursor(cursor_text));
  PORTICO_ASSIGN_OR_RETURN(bool exists, store_.FolderExists(path));
  if (!exists) return Status(Code::kNotFound, "not_found", "no folder " + path);
  PORTICO_ASSIGN_OR_RETURN(auto rows, store_.ListChildren(path, cursor, limit));
  FolderListing out;
  out.path = path;
  if (rows.size() > static_cast<size_t>(limit)) {
    rows.resize(static_cast<size_t>(limit));
    out.next_cursor = EncodeCursor(rows.back());
  }
  out.children = std::move(rows);
  return out;
}

StatusOr<std::string> AssetService::CheckUploadTarget(std::string_view raw, bool parents) {
  PORTICO_ASSIGN_OR_RETURN(std::string path, protocol::NormalizeDamPath(raw));
  if (path == protocol::kDamRoot) {
    return Status(Code::kInvalidArgument, "invalid_path",
                  "an asset needs a name below /content/dam");
  }
  if (!parents) {
    std::string parent = protocol::DamParent(path);
    PORTICO_ASSIGN_OR_RETURN(bool exists, store_.FolderExists(parent));
    if (!exists) {
      return Status(Code::kNotFound, "parent_not_found",
                    "the parent folder " + parent +
                        " does not exist (create it, or upload with "
                        "parents=true)");
    }
  }
  return path;
}

StatusOr<AssetRecord> AssetService::Upload(std::string_view raw, bool parents,
                                           const ByteSource& source) {
  PORTICO_ASSIGN_OR_RETURN(std::string path, CheckUploadTarget(raw, parents));
  PORTICO_ASSIGN_OR_RETURN(auto inner, blobs_.NewWriter(store::WriteHint::kStreaming));
  // Receiving the next piece overlaps hashing and writing the previous one. On any failure the
  // writer is destroyed uncommitted: its thread stops and the partial blob is discarded.
  auto writer = std::make_unique<store::PipelinedBlobWriter>(std::move(inner), kUploadPiece);
  while (true) {
    PORTICO_ASSIGN_OR_RETURN(std::span<char> space, writer->Space());
    PORTICO_ASSIGN_OR_RETURN(size_t n, source(space));
    if (n == 0) break;
    PORTICO_RETURN_IF_ERROR(writer->Fill(n));
  }
  if (writer->size() == 0) {
    return Status(Code::kInvalidArgument, "empty_file",
                  "the file is empty: a zero-byte file is not an asset");
  }
  PORTICO_ASSIGN_OR_RETURN(auto blob, writer->Commit(std::nullopt));
  if (parents) {
    PORTICO_RETURN_IF_ERROR(CreateFolder(protocol::DamParent(path), true).status());
  }
  return store_.AddAssetVersion(path, blob.sha256, blob.size,
                                ContentTypeFor(protocol::DamName(path)), clock_.NowSeconds());
}

StatusOr<AssetRecord> AssetService::GetAsset(std::string_view raw) {
  PORTICO_ASSIGN_OR_RETURN(std::string path, protocol::NormalizeDamPath(raw));
  return store_.GetAsset(path);
}

StatusOr<AssetVersions> AssetService::GetVersions(std::string_view raw) {
  PORTICO_ASSIGN_OR_RETURN(std::string path, protocol::NormalizeDamPath(raw));
  PORTICO_ASSIGN_OR_RETURN(auto asset, store_.GetAsset(path));
  PORTICO_ASSIGN_OR_RETURN(auto versions, store_.ListVersions(path));
  return AssetVersions{std::move(asset), std::move(versions)};
}

StatusOr<std::unique_ptr<store::BlobReader>> AssetService::OpenOriginal(const AssetRecord& asset) {
  auto reader = blobs_.Open(asset.sha256);
  if (!reader.ok() && reader.status().code() == Code::kNotFound) {
    return Internal("the original of " + asset.path + " is missing from the blob store");
  }
  return reader;
}

std::string AssetService::ContentTypeFor(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kTypes = {{
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"png", "image/png"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
      {"bmp", "image/bmp"},
      {"svg", "image/svg+xml"},
      {"psd", "image/vnd.adobe.photoshop"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"mp4", "video/mp4"},
      {"mov", "video/quicktime"},
      {"webm", "video/webm"},
      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},
      {"txt", "text/plain"},
      {"csv", "text/csv"},
      {"json", "application/json"},
      {"html", "text/html"},
      {"ai", "application/postscript"},
      {"eps", "application/postscript"},
      {"indd", "application/x-indesign"},
  }};
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return "application/octet-stream";
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return std::string(type);
  }
  return "application/octet-stream";
}

}  // namespace portico::author

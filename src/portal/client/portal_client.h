// A typed blocking HTTP client of the portal, used by the CLI, the author's publish workers and
// tests. One client talks to one portal (`base_url`, without /t/...) and, for tenant calls, one
// tenant. Errors are the Status of the portal's JSON error (its code, error id and message), or
// Unavailable/Timeout when the portal cannot be reached.
//
// Thread-safe for concurrent calls once configured: SetToken and SetAuthorId are not, so set them
// before sharing the client (or build one client per worker).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http/client.h"
#include "core/status.h"
#include "protocol/publish.h"

namespace portico::portal {

// One published folder or asset, as the read API answers it.
struct PortalEntry {
  std::string path;
  std::string name;
  std::string type;  // "folder" or "asset"
  std::string title;
  int64_t size = 0;  // assets
  std::string sha256;
  std::string content_type;
  int64_t modified_at = 0;
  int64_t published_at = 0;
  nlohmann::json ToJson() const;
};

struct ChildrenListing {
  PortalEntry folder;
  std::vector<PortalEntry> entries;
  std::string next_cursor;  // "" on the last page
};

// A byte range to ask for: `first` to `last` inclusive, or to the end when `last` is absent.
struct DownloadRange {
  int64_t first = 0;
  std::optional<int64_t> last;
};

struct DownloadResult {
  int status = 200;           // 200 whole file, 206 partial
  int64_t bytes = 0;          // bytes handed to the sink
  std::string etag;           // "\"<sha256>\""
  std::string content_range;  // for 206
  std::string content_type;
};

class PortalClient {
 public:
  // `base_url`: the portal's URL (http://host:port); `tenant`: the tenant id for tenant calls
  // (may be empty for tenant creation).
  PortalClient(std::string base_url, std::string tenant, http::ClientOptions options = {});

  const std::string& base_url() const { return base_url_; }
  const std::string& tenant() const { return tenant_; }
  // `<base_url>/t/<tenant>`.
  std::string TenantUrl() const;
  // The bearer token sent with every call.
  void SetToken(std::string token) { token_ = std::move(token); }
  // The author id sent as X-Portico-Author on ingest calls.
  void SetAuthorId(std::string author_id) { author_id_ = std::move(author_id); }

  // --- Tenant admin (an org admin's token).
  StatusOr<nlohmann::json> CreateTenant(const std::string& tenant, const std::string& alias = "");
  StatusOr<nlohmann::json> GetTenant(const std::string& tenant);

  // --- Ingest (a token with the portal scope; see protocol/publish.h).
  StatusOr<protocol::HandshakeResponse> Handshake(const protocol::HandshakeRequest& request);
  StatusOr<protocol::CheckResponse> Check(const protocol::CheckRequest& request);
  // Streams `length` bytes from `source` as blob `sha256` (Content-Length set).
  StatusOr<protocol::BlobReceipt> UploadBlob(const std::string& sha256, http::BodySource& source,
                                             uint64_t length);
  // Streams a file as blob `sha256`, in constant memory.
  StatusOr<protocol::BlobReceipt> UploadFile(const std::string& sha256,
                                             const std::filesystem::path& file);
  StatusOr<protocol::CommitResponse> Commit(const protocol::CommitRequest& request);

  // --- Reading (any token of the tenant's org).
  StatusOr<ChildrenListing> ListChildren(const std::string& path, int limit = 0,
                                         const std::string& cursor = "");
  // Every child of a folder, following cursors.
  StatusOr<std::vector<PortalEntry>> ListAll(const std::string& path);
  StatusOr<PortalEntry> GetEntry(const std::string& path);
  // Downloads an asset into `sink` piece by piece (constant memory), optionally one byte range.
  StatusOr<DownloadResult> Download(const std::string& path,
                                    const std::function<Status(std::string_view)>& sink,
                                    std::optional<DownloadRange> range = std::nullopt);
  // Downloads an asset to `file` through a temporary file beside it, renamed when complete.
  StatusOr<DownloadResult> DownloadToFile(const std::string& path,
                                          const std::filesystem::path& file);

 private:
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& url,
                                const std::optional<nlohmann::json>& body, bool ingest);
  http::Headers BaseHeaders(bool ingest) const;
  std::string PathUrl(std::string_view api, const std::string& path) const;

  std::string base_url_;
  std::string tenant_;
  std::string token_;
  std::string author_id_;
  http::HttpClient http_;
};

// Percent-encodes a DAM path for a URL tail, segment by segment ("/" kept).
std::string EncodePathForUrl(std::string_view path);

}  // namespace portico::portal

// A typed HTTP client of the author service, for the CLI, the other services and tests. Methods
// return the service's JSON documents (see /openapi.json) or the Status of its JSON error.
// Blocking; thread-safe except SetToken, which callers do before sharing.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/http/client.h"
#include "core/status.h"

namespace portico::author {

class AuthorClient {
 public:
  explicit AuthorClient(std::string base_url, http::ClientOptions options = {});

  const std::string& base_url() const { return base_url_; }
  // The identity admin token sent as Bearer with every call.
  void SetToken(std::string token) { token_ = std::move(token); }

  // --- folders and assets (paths are DAM paths, e.g. "/content/dam/brand/logo.png")
  StatusOr<nlohmann::json> CreateFolder(const std::string& path, bool parents = false);
  // One page: {"path", "children": [...], "next_cursor"}. limit 0: the server's default.
  StatusOr<nlohmann::json> ListFolder(const std::string& path, int limit = 0,
                                      const std::string& cursor = "");
  // Every child, following cursors: an array.
  StatusOr<nlohmann::json> ListFolderAll(const std::string& path);
  // Streams the file at `file` (constant memory) as the asset `path`.
  StatusOr<nlohmann::json> UploadFile(const std::filesystem::path& file, const std::string& path,
                                      bool parents = false);
  // Uploads bytes held in memory.
  StatusOr<nlohmann::json> UploadBytes(const std::string& path, std::string bytes,
                                       bool parents = false);
  // Metadata and versions.
  StatusOr<nlohmann::json> GetAsset(const std::string& path);
  // Streams the original to `sink`.
  Status Download(const std::string& path, const std::function<Status(std::string_view)>& sink);

  // --- the IMS configuration
  StatusOr<nlohmann::json> CreateImsConfig(const std::string& alias,
                                           const std::string& solution = "portal");
  StatusOr<nlohmann::json> GetImsConfig();
  StatusOr<std::string> GetCertificatePem();
  // {"title", "authorization_server", "client_id", "client_secret", "jwt_payload"}.
  StatusOr<nlohmann::json> SetImsAccount(const nlohmann::json& account);
  // {"ok", "message", "cause"?}
  StatusOr<nlohmann::json> CheckHealth();
  StatusOr<nlohmann::json> RegenerateImsKey();
  Status DeleteImsConfig();

  // --- the portal cloud service and agents
  StatusOr<nlohmann::json> CreateCloudService(const std::string& title,
                                              const std::string& tenant_url);
  StatusOr<nlohmann::json> GetCloudService();
  StatusOr<nlohmann::json> ListAgents();
  // {"agent", "ok", "message", "step"?}
  StatusOr<nlohmann::json> TestAgent(const std::string& name);

  // The URL path for DAM path `path` under `prefix` ("/api/v1/assets"), percent-encoded.
  static std::string PathUrl(std::string_view prefix, std::string_view dam_path);

 private:
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                const std::optional<nlohmann::json>& body = std::nullopt);
  StatusOr<http::ClientResponse> Raw(http::ClientRequest req);

  std::string base_url_;
  std::string token_;
  http::HttpClient http_;
};

}  // namespace portico::author

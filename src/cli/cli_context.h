// What every CLI command shares: where the services are and who the caller is (flags, then
// PORTICO_* environment variables, then DATA/portico.json), and how results are printed (one
// JSON document on stdout with --json; plain text otherwise; errors as JSON with a non-zero exit).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "ims/client/ims_client.h"

namespace portico::cli {

struct GlobalFlags {
  std::string data;      // --data DIR
  std::string ims;       // --ims URL
  std::string login;     // --login
  std::string password;  // --password
  std::string org;       // --org
  std::string portal;    // --portal URL
  std::string tenant;    // --tenant
  std::string author;    // --author URL
  bool json = false;     // --json
};

class CliContext {
 public:
  explicit CliContext(GlobalFlags flags);

  bool json() const { return flags_.json; }
  // The identity service's URL; fails naming the three places it can come from.
  StatusOr<std::string> ImsUrl() const;
  // The org to act in: --org, PORTICO_ORG, portico.json, or the logged-in admin's org.
  StatusOr<std::string> Org(ims::ImsClient& client) const;
  // The portal's URL: --portal, PORTICO_PORTAL, or portico.json "portal".
  StatusOr<std::string> PortalUrl() const;
  // The portal tenant: --tenant, PORTICO_TENANT, or portico.json "tenant".
  StatusOr<std::string> Tenant() const;
  // The author's URL: --author, PORTICO_AUTHOR, or portico.json "author".
  StatusOr<std::string> AuthorUrl() const;
  // A client logged in as the admin (the token is cached in DATA/.cli-token, mode 0600).
  StatusOr<std::unique_ptr<ims::ImsClient>> AdminClient() const;
  // The admin's login and password (flags, PORTICO_LOGIN/PORTICO_PASSWORD, portico.json).
  StatusOr<std::pair<std::string, std::string>> Login() const;
  // The admin's access token (as AdminClient logs in), for calls to the author and portal.
  StatusOr<std::string> AdminToken() const;

  // Prints `result` (JSON with --json, else `text`) and returns exit code 0.
  int Print(const nlohmann::json& result, const std::string& text) const;
  // Prints an error and returns exit code 1.
  int Fail(const Status& status) const;

 private:
  std::optional<nlohmann::json> PorticoJson() const;
  StatusOr<std::unique_ptr<ims::ImsClient>> LogIn(std::string* token) const;
  std::string Pick(const std::string& flag, const char* env, const char* json_key) const;

  GlobalFlags flags_;
};

// Writes `content` to `path` atomically (temp file, fsync, rename) with `mode`.
Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content, int mode);
StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes = 1 << 20);

}  // namespace portico::cli

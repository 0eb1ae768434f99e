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
  // A client logged in as the admin (the token is cached in DATA/.cli-token, mode 0600).
  StatusOr<std::unique_ptr<ims::ImsClient>> AdminClient() const;

  // Prints `result` (JSON with --json, else `text`) and returns exit code 0.
  int Print(const nlohmann::json& result, const std::string& text) const;
  // Prints an error and returns exit code 1.
  int Fail(const Status& status) const;

 private:
  std::optional<nlohmann::json> PorticoJson() const;
  std::string Pick(const std::string& flag, const char* env, const char* json_key) const;

  GlobalFlags flags_;
};

// Writes `content` to `path` atomically (temp file, fsync, rename) with `mode`.
Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content, int mode);
StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes = 1 << 20);

}  // namespace portico::cli

// The author service assembled: its database, master key and blob folder under a data folder,
// its rules, and its HTTP server. `portico serve author` (and later `portico up`) start it here.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "author/service/asset_service.h"
#include "author/service/ims_integration_service.h"
#include "author/service/portal_integration_service.h"
#include "core/clock.h"
#include "core/status.h"

namespace portico::author {

struct AuthorOptions {
  std::filesystem::path data_dir;  // holds author.db, master.key, blobs/ (made mode 0700/0600)
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string public_url;        // default: http://HOST:PORT of the bound socket
  std::string ims_url;           // the identity service (token issuer, JWKS); required
  std::string org;               // the org whose admins may use this author; required
  const Clock* clock = nullptr;  // default: the system clock
  int handler_threads = 16;
  bool access_log = true;
  uint64_t max_upload_bytes = 1ull << 40;  // 1 TiB
  int agent_count = 4;
  int upload_lanes = 4;   // blobs one agent uploads at once (PublishOptions::upload_lanes)
  int agent_workers = 2;  // batches one agent delivers at once (PublishOptions::agent_workers)
  // How long a publish worker holds its items without a heartbeat (a crashed worker's items are
  // taken again after this), and the first retry delay of a failed item (doubling, capped at 1 h).
  std::chrono::milliseconds publish_lease{std::chrono::seconds(60)};
  std::chrono::milliseconds publish_backoff{std::chrono::seconds(10)};
  std::chrono::milliseconds token_renew_margin{std::chrono::minutes(5)};
};

class AuthorService {
 public:
  // Opens (or creates) the data folder, applies migrations, opens the blob store and starts
  // serving. Fails with a message naming what is wrong (options, folder, port, database).
  static StatusOr<std::unique_ptr<AuthorService>> Start(const AuthorOptions& options);
  ~AuthorService();

  const std::string& url() const;
  uint16_t port() const;
  const std::string& author_id() const;
  AssetService& assets();
  ImsIntegrationService& ims();
  PortalIntegrationService& portal();
  // Stops serving (requests in flight finish). Safe to call twice.
  void Stop();

 private:
  AuthorService();
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace portico::author

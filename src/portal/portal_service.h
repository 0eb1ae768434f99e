// The portal assembled: its database (portal.db) and blob store (blobs/) under a data folder,
// the token verifier of its identity service, its rules and HTTP server. `portico serve portal`
// (and later `portico up`) start it through here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "portal/service/catalog_service.h"
#include "portal/service/ingest_service.h"
#include "portal/service/tenant_service.h"

namespace portico::portal {

struct PortalOptions {
  std::filesystem::path data_dir;  // holds portal.db and blobs/ (created mode 0700)
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string public_url;        // default: http://HOST:PORT of the bound socket
  std::string ims_url;           // the identity service: the tokens' issuer, and where the JWKS is
  const Clock* clock = nullptr;  // default: the system clock
  int handler_threads = 16;
  bool access_log = true;
};

class PortalService {
 public:
  // Opens (or creates) the data folder, applies migrations, opens the blob store and starts
  // serving. The identity service need not be up yet: keys are fetched on the first token.
  // Fails with a message naming what is wrong (folder, port, database, missing ims_url).
  static StatusOr<std::unique_ptr<PortalService>> Start(const PortalOptions& options);
  ~PortalService();

  const std::string& url() const;
  uint16_t port() const;
  TenantService& tenants();
  IngestService& ingest();
  CatalogService& catalog();
  // Stops serving (requests in flight finish). Safe to call twice.
  void Stop();

 private:
  PortalService();
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace portico::portal

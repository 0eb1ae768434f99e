// The author's HTTP API under /api/v1 (see docs/decisions.md "Author API"). Handlers parse,
// authorize (AdminGuard), call the service and map errors; the rules live in service/.
#pragma once

#include <cstdint>

#include "author/api/admin_guard.h"
#include "author/service/asset_service.h"
#include "author/service/ims_integration_service.h"
#include "author/service/portal_integration_service.h"
#include "core/http/router.h"

namespace portico::author {

struct AuthorApiDeps {
  const AdminGuard* guard;
  AssetService* assets;
  ImsIntegrationService* ims;
  PortalIntegrationService* portal;
  uint64_t max_upload_bytes = 1ull << 40;
};

// Folders, assets, upload and download.
void AddAssetRoutes(http::Router& router, const AuthorApiDeps& deps);
// The IMS configuration, the portal cloud service and its agents.
void AddIntegrationRoutes(http::Router& router, const AuthorApiDeps& deps);

}  // namespace portico::author

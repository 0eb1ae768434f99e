// The portal's HTTP routes: tenant admin (/api/v1/tenants), ingest (/t/{tenant}/api/v1/ingest/...)
// and reading (/t/{tenant}/api/v1/children|assets|download/...). Handlers parse, authenticate the
// bearer token offline (TokenVerifier), call a service and map its Status to the JSON error.
#pragma once

#include "core/http/router.h"
#include "ims/client/token_verifier.h"
#include "portal/service/catalog_service.h"
#include "portal/service/ingest_service.h"
#include "portal/service/tenant_service.h"

namespace portico::portal {

struct PortalApiDeps {
  ims::TokenVerifier* verifier = nullptr;
  TenantService* tenants = nullptr;
  IngestService* ingest = nullptr;
  CatalogService* catalog = nullptr;
};

// The largest blob upload accepted (refused with 413 before any byte above it is read).
inline constexpr uint64_t kMaxBlobBytes = 64ull << 30;

// Adds every portal route to `router`. The deps must outlive the router.
void AddPortalRoutes(http::Router& router, const PortalApiDeps& deps);

}  // namespace portico::portal

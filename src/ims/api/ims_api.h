// The identity service's HTTP API: the token endpoints of IMS-PROTOCOL.md at the root, and the
// admin API (login, developer console) under /api/v1. Handlers parse, authorize and map errors;
// the rules live in service/.
#pragma once

#include "core/http/router.h"
#include "ims/service/admin_service.h"
#include "ims/service/console_service.h"
#include "ims/service/key_ring.h"
#include "ims/service/token_service.h"

namespace portico::ims {

struct ImsApiDeps {
  TokenService* tokens;
  ConsoleService* console;
  AdminService* admin;
  KeyRing* keys;
  const ImsSettings* settings;
};

// Adds every identity route to `router`.
void AddImsRoutes(http::Router& router, const ImsApiDeps& deps);

}  // namespace portico::ims

// The endpoints every service serves: /healthz (the process is up), /readyz (it can serve:
// the given check passes), /metrics (Prometheus text) and /openapi.json (the API description).
#pragma once

#include <functional>
#include <string>

#include "core/http/router.h"
#include "core/metrics.h"
#include "core/status.h"

namespace portico::http {

// Adds the standard routes. /openapi.json describes every route of `router` (including these),
// built from the patterns and RouteOptions summaries, so it cannot drift from what is served.
void AddStandardRoutes(Router& router, Metrics* metrics, std::function<Status()> ready_check,
                       const std::string& title);

}  // namespace portico::http

// The publishing engine's HTTP routes on the author (admin token, like every author route):
//   POST /api/v1/publish              {"paths": [...], "action": "publish"|"unpublish",
//                                      "at": RFC 3339 text or Unix seconds (optional)}
//                                     → 202 the request
//   GET  /api/v1/publish?limit=N      → {"requests": [...]} newest first (default 20, ≤ 1000)
//   GET  /api/v1/publish/{id}         → the request with its items, totals, blobs_sent,
//                                       bytes_sent and done; ?items=false leaves the items out
//                                       (counted in the database: cheap enough to poll)
//   POST /api/v1/publish/{id}/retry   {"item": ID} optional → {"retried": N}
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "author/api/admin_guard.h"
#include "author/publish/publish_service.h"
#include "core/http/router.h"

namespace portico::author::publish {

struct PublishApiDeps {
  const AdminGuard* guard;
  PublishService* service;
};

// Registers the routes above. The pointers must outlive the router.
void AddPublishRoutes(http::Router& router, const PublishApiDeps& deps);

// Unix milliseconds for "at": an integer (Unix seconds), or RFC 3339 text
// (2030-01-02T03:04:05Z, fractions and ±hh:mm offsets allowed). nullopt for anything else.
std::optional<int64_t> ParsePublishTime(const nlohmann::json& at);

// The JSON forms the routes answer (also used by tests).
nlohmann::json RequestJson(const RequestRecord& r);
nlohmann::json StatusJson(const RequestStatus& s, bool with_items = true);

}  // namespace portico::author::publish

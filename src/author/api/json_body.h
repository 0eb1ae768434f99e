// Reading the small JSON bodies of the author's API. Not thread-safe per request (like Request).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/http/message.h"
#include "core/status.h"

namespace portico::author {

// The request's body as a JSON object: 415 unless application/json, 400 if it is not one
// object (duplicate keys refused), 413 beyond `limit`.
StatusOr<nlohmann::json> ReadJsonObject(http::Request& req, size_t limit = 64 * 1024);

// A string member: "" when absent and not required; 400 naming the member otherwise.
StatusOr<std::string> StringMember(const nlohmann::json& body, const char* name,
                                   bool required = true);

// Whether query parameter `name` is "true" or "1" (400 for any value but true/false/1/0).
StatusOr<bool> BoolQuery(const http::Request& req, std::string_view name);

}  // namespace portico::author

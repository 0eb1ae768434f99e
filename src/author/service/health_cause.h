// Check health's verdict: what the identity service's answer to the JWT exchange means for the
// person configuring the author. The identity service answers OAuth errors
// (src/ims/service/token_service.cpp); their ids do not tell every cause apart (invalid_client
// covers an unknown client and a wrong secret; invalid_grant covers a bad signature, an expired
// assertion and a wrong claim), so the description is read too. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace portico::author {

// Stable cause ids of a failed check health.
inline constexpr const char* kCauseWrongSecret = "wrong_secret";
inline constexpr const char* kCauseUnknownClient = "unknown_client";
inline constexpr const char* kCauseCertificateNotRegistered = "certificate_not_registered";
inline constexpr const char* kCausePayloadExpired = "payload_expired";
inline constexpr const char* kCausePayloadMalformed = "payload_malformed";
inline constexpr const char* kCauseServerUnreachable = "server_unreachable";
inline constexpr const char* kCauseOther = "other";

inline constexpr const char* kHealthOkMessage = "Token is retrieved successfully";

struct HealthVerdict {
  bool ok = false;
  std::string cause;    // "" when ok
  std::string message;  // for people; never holds a secret
};

// The verdict for an HTTP answer `http_status` with JSON body `body` (null if not JSON) from the
// exchange endpoint at `server`.
HealthVerdict ClassifyExchangeAnswer(int http_status, const nlohmann::json& body,
                                     const std::string& server);

// The verdict when the exchange endpoint at `server` could not be reached (`detail` says why).
HealthVerdict UnreachableVerdict(const std::string& server, const std::string& detail);

}  // namespace portico::author

// The service-account JWT the author's IMS configuration signs (IMS-PROTOCOL.md): the account's
// JWT payload as the console gave it, with a fresh `exp`, `iat` and `jti` each time, signed RS256
// with the configuration's private key. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/crypto/keys.h"
#include "core/status.h"

namespace portico::author {

// The lifetime given to each assertion (what the commercial clients use).
inline constexpr int64_t kAssertionSeconds = 300;

// Checks a JWT payload before it is stored: a JSON object with non-empty strings `iss`, `sub`
// and `aud`, a numeric `exp`, and at least one metascope claim (a key holding "/s/" whose value
// is true). Fails with InvalidArgument/invalid_payload naming what is wrong.
Status ValidateJwtPayload(const nlohmann::json& payload);

// The claims of one assertion: `payload` with exp = now + kAssertionSeconds, iat = now and
// jti = `jti`.
nlohmann::json AssertionClaims(const nlohmann::json& payload, int64_t now_seconds,
                               const std::string& jti);

// Signs `claims` (header {"alg":"RS256","typ":"JWT"}).
StatusOr<std::string> SignAssertion(const nlohmann::json& claims, const crypto::PrivateKey& key);

}  // namespace portico::author

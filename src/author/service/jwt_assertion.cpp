#include "author/service/jwt_assertion.h"

#include "core/crypto/jws.h"

namespace portico::author {
namespace {
Status Bad(const std::string& message) {
  return Status(Code::kInvalidArgument, "invalid_payload", "jwt_payload: " + message);
}
}  // namespace

Status ValidateJwtPayload(const nlohmann::json& p) {
  if (!p.is_object()) return Bad("must be a JSON object");
  for (const char* name : {"iss", "sub", "aud"}) {
    auto it = p.find(name);
    if (it == p.end()) return Bad(std::string("the claim '") + name + "' is missing");
    if (!it->is_string() || it->get<std::string>().empty()) {
      return Bad(std::string("the claim '") + name + "' must be a non-empty string");
    }
  }
  auto exp = p.find("exp");
  if (exp == p.end()) return Bad("the claim 'exp' is missing");
  if (!exp->is_number()) return Bad("the claim 'exp' must be a number (seconds since 1970)");
  int metascopes = 0;
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (it.key().find("/s/") == std::string::npos) continue;
    if (!it->is_boolean() || !it->get<bool>()) {
      return Bad("the metascope claim '" + it.key().substr(0, 200) + "' must be true");
    }
    ++metascopes;
  }
  if (metascopes == 0) {
    return Bad("no metascope claim (a key like '<ims>/s/ent_portal_sdk' with the value true)");
  }
  return Status::Ok();
}

nlohmann::json AssertionClaims(const nlohmann::json& payload, int64_t now, const std::string& jti) {
  nlohmann::json claims = payload;
  claims["exp"] = now + kAssertionSeconds;
  claims["iat"] = now;
  claims["jti"] = jti;
  return claims;
}

StatusOr<std::string> SignAssertion(const nlohmann::json& claims, const crypto::PrivateKey& key) {
  return crypto::SignJws({{"typ", "JWT"}}, claims, key, crypto::JwsAlgorithm::kRS256);
}

}  // namespace portico::author

#include "author/api/admin_guard.h"

namespace portico::author {

StatusOr<ims::TokenClaims> AdminGuard::Check(const http::Request& req) const {
  if (req.headers.Count("Authorization") > 1) {
    return Status(Code::kUnauthenticated, "invalid_token", "send one Authorization header");
  }
  auto token = req.BearerToken();
  if (!token || token->empty()) {
    return Status(Code::kUnauthenticated, "invalid_token",
                  "an identity admin token is required (Authorization: Bearer)");
  }
  auto claims = verifier_->Verify(*token, {.org = org_, .scope = std::string(kAdminScope)});
  if (!claims.ok() && claims.status().error() == "wrong_org") {
    return Status(Code::kPermissionDenied, "wrong_org",
                  "this token belongs to another org than this author's");
  }
  return claims;
}

}  // namespace portico::author

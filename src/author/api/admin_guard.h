// Who may call the author's API: an identity admin token (scope `ims_admin`) of the author's org,
// verified offline. Thread-safe.
#pragma once

#include <string>

#include "core/http/message.h"
#include "core/status.h"
#include "ims/client/token_verifier.h"

namespace portico::author {

inline constexpr std::string_view kAdminScope = "ims_admin";

class AdminGuard {
 public:
  // `verifier` must outlive the guard.
  AdminGuard(ims::TokenVerifier* verifier, std::string org)
      : verifier_(verifier), org_(std::move(org)) {}

  // OK with the caller's claims; 401 invalid_token without a (valid) bearer token, 403 wrong_org
  // for another org's token, 403 insufficient_scope without `ims_admin`, 503 when the identity
  // service's keys could never be fetched.
  StatusOr<ims::TokenClaims> Check(const http::Request& req) const;

 private:
  ims::TokenVerifier* verifier_;
  std::string org_;
};

}  // namespace portico::author

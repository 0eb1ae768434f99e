// The identity service's tunable rules, shared by its service classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portico::ims {

struct ImsSettings {
  // The service's public base URL without a trailing slash (IMS-PROTOCOL's BASE). It is the `iss`
  // of access tokens, and assertions address their `aud` and metascope claims relative to it.
  std::string public_url;
  int64_t service_token_seconds = 24 * 3600;  // access tokens of credentials
  int64_t admin_token_seconds = 12 * 3600;    // tokens of admins who log in
  int64_t clock_skew_seconds = 60;            // tolerance on exp, nbf and iat
  int64_t max_assertion_seconds = 24 * 3600;  // an assertion's exp may be at most this far ahead
  size_t max_assertion_bytes = 16 * 1024;
  int max_certificates = 2;  // per credential, so keys rotate without downtime
  // How long the token endpoints may use a credential read from the database before reading it
  // again. Changes made through this process are seen at once; changes made by another replica
  // of the service on a shared database within this time.
  int64_t credential_cache_ms = 5'000;
};

// An API that a project can add, with what a credential of it may ask for.
struct ApiDefinition {
  std::string name;                       // "portal"
  std::vector<std::string> metascopes;    // for service-account (JWT) credentials
  std::vector<std::string> oauth_scopes;  // for OAuth server-to-server credentials
};

// The APIs this deployment offers. The portal's metascope is `ent_portal_sdk`.
const std::vector<ApiDefinition>& KnownApis();
const ApiDefinition* FindApi(const std::string& name);

}  // namespace portico::ims

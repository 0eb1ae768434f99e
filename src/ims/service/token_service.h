// The token endpoints' rules (SPEC I3, IMS-PROTOCOL.md): the service-account JWT exchange, the
// RFC 7523 JWT-bearer grant, client_credentials, and the verification of the access tokens this
// service issues. Every refusal is an OAuth error Status (invalid_request, invalid_client,
// invalid_grant, invalid_scope, invalid_token) whose message names the fault without quoting a
// secret, and a refused request changes nothing. Thread-safe; calls block on the store.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/crypto/keys.h"
#include "core/status.h"
#include "ims/service/ims_settings.h"
#include "ims/service/jti_ledger.h"
#include "ims/service/key_ring.h"
#include "ims/store/ims_store.h"

namespace portico::ims {

struct IssuedToken {
  std::string access_token;
  int64_t expires_in_seconds = 0;
  int64_t expires_in_ms = 0;  // the JWT exchange reports milliseconds
  std::vector<std::string> scopes;
};

// The claims of a verified access token of this service.
struct VerifiedToken {
  nlohmann::json claims;
  std::string client_id;
  std::string user_id;
  std::string org_id;
  std::vector<std::string> scopes;
  int64_t expires_at = 0;
};

class TokenService {
 public:
  TokenService(ImsStore& store, KeyRing& keys, JtiLedger& jtis, const Clock& clock,
               const ImsSettings& settings);

  // POST /ims/exchange/jwt: a service-account credential's client id and secret, and an RS256
  // (or ES256) assertion signed by one of its certificates' keys. See IMS-PROTOCOL.md.
  StatusOr<IssuedToken> ExchangeJwt(std::string_view client_id, std::string_view client_secret,
                                    std::string_view assertion);
  // client_credentials for an OAuth server-to-server credential. `scope` is comma- or
  // space-separated; empty asks for every scope of the credential. `org_id`, when given, must be
  // the credential's org.
  StatusOr<IssuedToken> ClientCredentials(std::string_view client_id,
                                          std::string_view client_secret, std::string_view scope,
                                          std::optional<std::string_view> org_id);
  // Issues the token of an admin who has logged in.
  StatusOr<IssuedToken> IssueUserToken(const UserRecord& user,
                                       const std::vector<std::string>& scopes);

  // Verifies an access token of this service: signature by a published key, issuer, type, expiry
  // and that its credential still exists. kUnauthenticated/invalid_token when it is not valid.
  StatusOr<VerifiedToken> VerifyAccessToken(std::string_view token);

  // Forgets used assertion ids that have expired.
  Status Prune();

 private:
  using CredentialPtr = std::shared_ptr<const CredentialRecord>;
  StatusOr<CredentialPtr> AuthenticateClient(std::string_view client_id,
                                             std::string_view client_secret);
  // The credential from the cache while it is fresh (see ImsSettings::credential_cache_ms and
  // ImsStore::credential_generation), else from the store. kNotFound if there is none.
  StatusOr<CredentialPtr> LoadCredential(const std::string& client_id);
  StatusOr<IssuedToken> Issue(const std::string& subject, const std::string& client_id,
                              const std::string& org_id, const std::vector<std::string>& scopes,
                              int64_t lifetime_seconds, const std::string& account_type);
  StatusOr<crypto::PublicKey> CertificateKey(const CertificateRecord& cert);

  ImsStore& store_;
  KeyRing& keys_;
  JtiLedger& jtis_;
  const Clock& clock_;
  const ImsSettings& settings_;  // owned by the service assembly; read-only once serving
  std::mutex cache_mu_;
  std::map<std::string, crypto::PublicKey> key_cache_;  // by certificate fingerprint (immutable)

  struct CachedCredential {
    CredentialPtr credential;
    uint64_t generation = 0;
    int64_t loaded_ms = 0;
  };
  std::shared_mutex credentials_mu_;
  std::unordered_map<std::string, CachedCredential> credentials_;
};

// Splits a scope parameter on commas and spaces, dropping empty items.
std::vector<std::string> SplitScopes(std::string_view scope);

}  // namespace portico::ims

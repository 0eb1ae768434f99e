#include "ims/service/token_service.h"

#include <algorithm>
#include <cmath>

#include "core/crypto/jws.h"
#include "core/crypto/random.h"
#include "core/crypto/sha256.h"
#include "core/crypto/x509.h"
#include "core/json.h"
#include "core/log.h"

namespace portico::ims {
namespace {

constexpr size_t kMaxClientIdBytes = 256;
constexpr size_t kMaxSecretBytes = 512;
constexpr size_t kMaxJtiBytes = 256;

// Reads a NumericDate claim; nullopt when absent; an error when present but not a number.
StatusOr<std::optional<int64_t>> NumericClaim(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  if (!it->is_number())
    return OAuthInvalidGrant(std::string("JWT claim '") + name + "' must be a number");
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0 || v > 1e11)
    return OAuthInvalidGrant(std::string("JWT claim '") + name + "' is out of range");
  return std::optional<int64_t>(static_cast<int64_t>(v));
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

std::vector<std::string> SplitScopes(std::string_view scope) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < scope.size()) {
    size_t j = scope.find_first_of(", ", i);
    if (j == std::string_view::npos) j = scope.size();
    if (j > i) {
      std::string s(scope.substr(i, j - i));
      if (!Contains(out, s)) out.push_back(std::move(s));
    }
    i = j + 1;
  }
  return out;
}

TokenService::TokenService(ImsStore& store, KeyRing& keys, JtiLedger& jtis, const Clock& clock,
                           const ImsSettings& settings)
    : store_(store), keys_(keys), jtis_(jtis), clock_(clock), settings_(settings) {}

StatusOr<TokenService::CredentialPtr> TokenService::LoadCredential(const std::string& client_id) {
  constexpr size_t kMaxCachedCredentials = 10'000;
  const uint64_t generation = store_.credential_generation();
  const int64_t now_ms = clock_.NowMillis();
  {
    std::shared_lock lock(credentials_mu_);
    auto it = credentials_.find(client_id);
    if (it != credentials_.end() && it->second.generation == generation &&
        now_ms - it->second.loaded_ms < settings_.credential_cache_ms &&
        now_ms >= it->second.loaded_ms) {
      return it->second.credential;
    }
  }
  PORTICO_ASSIGN_OR_RETURN(CredentialRecord loaded, store_.GetCredential(client_id));
  auto ptr = std::make_shared<const CredentialRecord>(std::move(loaded));
  if (settings_.credential_cache_ms > 0) {
    std::unique_lock lock(credentials_mu_);
    if (credentials_.size() >= kMaxCachedCredentials) credentials_.clear();
    credentials_[client_id] = {ptr, generation, now_ms};
  }
  return ptr;
}

StatusOr<TokenService::CredentialPtr> TokenService::AuthenticateClient(
    std::string_view client_id, std::string_view client_secret) {
  if (client_id.empty()) return OAuthInvalidRequest("client_id is required");
  if (client_secret.empty()) return OAuthInvalidRequest("client_secret is required");
  if (client_id.size() > kMaxClientIdBytes) return OAuthInvalidRequest("client_id is too long");
  if (client_secret.size() > kMaxSecretBytes)
    return OAuthInvalidRequest("client_secret is too long");
  auto cred = LoadCredential(std::string(client_id));
  if (!cred.ok()) {
    if (cred.status().code() == Code::kNotFound) return OAuthInvalidClient("unknown client_id");
    return cred.status();
  }
  if (!crypto::ConstantTimeEquals(crypto::Sha256Hex(client_secret), (*cred)->secret_hash)) {
    return OAuthInvalidClient("client_secret does not match this client");
  }
  return cred;
}

StatusOr<crypto::PublicKey> TokenService::CertificateKey(const CertificateRecord& cert) {
  {
    std::lock_guard lock(cache_mu_);
    auto it = key_cache_.find(cert.fingerprint);
    if (it != key_cache_.end()) return it->second;
  }
  PORTICO_ASSIGN_OR_RETURN(auto parsed, crypto::Certificate::FromPem(cert.pem));
  std::lock_guard lock(cache_mu_);
  key_cache_.emplace(cert.fingerprint, parsed.public_key());
  return parsed.public_key();
}

StatusOr<IssuedToken> TokenService::ExchangeJwt(std::string_view client_id,
                                                std::string_view client_secret,
                                                std::string_view assertion) {
  if (assertion.empty()) return OAuthInvalidRequest("jwt_token is required");
  if (assertion.size() > settings_.max_assertion_bytes) {
    return OAuthInvalidRequest("jwt_token exceeds " +
                               std::to_string(settings_.max_assertion_bytes) + " bytes");
  }
  PORTICO_ASSIGN_OR_RETURN(CredentialPtr cred_ptr, AuthenticateClient(client_id, client_secret));
  const CredentialRecord& cred = *cred_ptr;
  if (cred.type != "service_account") {
    return OAuthInvalidClient("this client is not a service-account (JWT) credential");
  }
  auto parsed = crypto::ParseJws(assertion, {.max_token_bytes = settings_.max_assertion_bytes});
  if (!parsed.ok()) return OAuthInvalidGrant(parsed.status().message());
  const int64_t now = clock_.NowSeconds();

  // The signature: one of the credential's certificates, chosen by kid when the header has one.
  std::vector<const CertificateRecord*> candidates;
  for (const auto& c : cred.certificates) {
    if (parsed->kid.empty() || parsed->kid == c.fingerprint) candidates.push_back(&c);
  }
  if (candidates.empty()) {
    if (!parsed->kid.empty())
      return OAuthInvalidGrant("JWT kid names no certificate of this client");
    return OAuthInvalidGrant("this client has no certificate registered");
  }
  const CertificateRecord* signer = nullptr;
  for (const auto* c : candidates) {
    auto key = CertificateKey(*c);
    if (!key.ok()) continue;
    if (crypto::VerifyJws(*parsed, *key).ok()) {
      signer = c;
      break;
    }
  }
  if (!signer)
    return OAuthInvalidGrant("JWT signature does not match any certificate of this client");
  if (signer->not_after < now)
    return OAuthInvalidGrant("the certificate that signed the JWT has expired");

  const nlohmann::json& claims = parsed->payload;
  const int64_t skew = settings_.clock_skew_seconds;
  PORTICO_ASSIGN_OR_RETURN(auto exp, NumericClaim(claims, "exp"));
  PORTICO_ASSIGN_OR_RETURN(auto nbf, NumericClaim(claims, "nbf"));
  PORTICO_ASSIGN_OR_RETURN(auto iat, NumericClaim(claims, "iat"));
  if (!exp) return OAuthInvalidGrant("JWT has no exp claim");
  if (*exp + skew < now) return OAuthInvalidGrant("JWT has expired");
  if (*exp > now + settings_.max_assertion_seconds + skew) {
    return OAuthInvalidGrant("JWT exp is too far in the future (at most " +
                             std::to_string(settings_.max_assertion_seconds) + " s ahead)");
  }
  if (nbf && *nbf > now + skew) return OAuthInvalidGrant("JWT is not yet valid (nbf)");
  if (iat && *iat > now + skew) return OAuthInvalidGrant("JWT iat is in the future");

  auto string_claim = [&](const char* name) -> std::optional<std::string> {
    auto it = claims.find(name);
    if (it == claims.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (string_claim("iss") != cred.org_id)
    return OAuthInvalidGrant("JWT iss does not name the org of this client");
  if (string_claim("sub") != cred.technical_account_id) {
    return OAuthInvalidGrant("JWT sub does not name the technical account of this client");
  }
  const std::string want_aud = settings_.public_url + "/c/" + cred.client_id;
  bool aud_ok = false;
  if (auto aud = claims.find("aud"); aud != claims.end()) {
    if (aud->is_string()) aud_ok = *aud == want_aud;
    if (aud->is_array()) aud_ok = std::find(aud->begin(), aud->end(), want_aud) != aud->end();
  }
  if (!aud_ok) return OAuthInvalidGrant("JWT aud must be " + want_aud);

  // Metascope claims: "<BASE>/s/<name>": true.
  const std::string scope_prefix = settings_.public_url + "/s/";
  std::vector<std::string> metascopes;
  for (auto it = claims.begin(); it != claims.end(); ++it) {
    const std::string& key = it.key();
    bool is_url = key.rfind("https://", 0) == 0 || key.rfind("http://", 0) == 0;
    if (!is_url) continue;
    if (key.rfind(scope_prefix, 0) != 0) {
      if (key.find("/s/") != std::string::npos) {
        return OAuthInvalidScope(
            "JWT metascope claim is addressed to another identity service; expected the prefix " +
            scope_prefix);
      }
      continue;
    }
    if (!it->is_boolean() || !it->get<bool>())
      return OAuthInvalidScope("JWT metascope claim values must be true");
    std::string name = key.substr(scope_prefix.size());
    if (!Contains(cred.scopes, name)) {
      return OAuthInvalidScope("this credential does not hold the metascope '" +
                               name.substr(0, 64) + "'");
    }
    metascopes.push_back(std::move(name));
  }
  if (metascopes.empty()) return OAuthInvalidScope("JWT holds no metascope claim");

  if (auto jti = claims.find("jti"); jti != claims.end()) {
    if (!jti->is_string() || jti->get_ref<const std::string&>().empty() ||
        jti->get_ref<const std::string&>().size() > kMaxJtiBytes) {
      return OAuthInvalidGrant("JWT jti must be a non-empty string of at most 256 bytes");
    }
    Status st = jtis_.Record(cred.client_id, jti->get<std::string>(), *exp + skew, now);
    if (st.code() == Code::kConflict) return OAuthInvalidGrant("JWT jti has already been used");
    PORTICO_RETURN_IF_ERROR(st);
  }
  return Issue(cred.technical_account_id, cred.client_id, cred.org_id, metascopes,
               settings_.service_token_seconds, "technical_account");
}

StatusOr<IssuedToken> TokenService::ClientCredentials(std::string_view client_id,
                                                      std::string_view client_secret,
                                                      std::string_view scope,
                                                      std::optional<std::string_view> org_id) {
  if (scope.size() > 4096) return OAuthInvalidRequest("scope is too long");
  PORTICO_ASSIGN_OR_RETURN(CredentialPtr cred_ptr, AuthenticateClient(client_id, client_secret));
  const CredentialRecord& cred = *cred_ptr;
  if (cred.type != "oauth_server_to_server") {
    return OAuthInvalidClient("this client is not an OAuth server-to-server credential");
  }
  if (org_id && *org_id != cred.org_id)
    return OAuthInvalidClient("this client does not belong to org_id");
  std::vector<std::string> asked = SplitScopes(scope);
  if (asked.empty()) asked = cred.scopes;
  for (const auto& s : asked) {
    if (!Contains(cred.scopes, s)) {
      return OAuthInvalidScope("this credential does not hold the scope '" + s.substr(0, 64) + "'");
    }
  }
  return Issue(cred.technical_account_id, cred.client_id, cred.org_id, asked,
               settings_.service_token_seconds, "technical_account");
}

StatusOr<IssuedToken> TokenService::IssueUserToken(const UserRecord& user,
                                                   const std::vector<std::string>& scopes) {
  return Issue(user.id, "portico-admin", user.org_id, scopes, settings_.admin_token_seconds,
               "user");
}

StatusOr<IssuedToken> TokenService::Issue(const std::string& subject, const std::string& client_id,
                                          const std::string& org_id,
                                          const std::vector<std::string>& scopes,
                                          int64_t lifetime_seconds,
                                          const std::string& account_type) {
  const int64_t now_ms = clock_.NowMillis();
  const int64_t now = now_ms / 1000;
  const int64_t lifetime_ms = lifetime_seconds * 1000;
  // Built as text (no document tree): this runs once per token issued.
  const std::string claims = JsonObjectWriter(640)
                                 .Add("account_type", account_type)
                                 .Add("as", "portico-ims")
                                 .Add("aud", client_id)
                                 .Add("client_id", client_id)
                                 .Add("created_at", std::to_string(now_ms))
                                 .Add("exp", now + lifetime_seconds)
                                 .Add("expires_in", std::to_string(lifetime_ms))
                                 .Add("iat", now)
                                 .Add("iss", settings_.public_url)
                                 .Add("jti", crypto::RandomToken(16))
                                 .Add("org", org_id)
                                 .Add("scope", Join(scopes, ","))
                                 .Add("sub", subject)
                                 .Add("type", "access_token")
                                 .Add("user_id", subject)
                                 .Finish();
  PORTICO_ASSIGN_OR_RETURN(std::string token, keys_.Sign(claims));
  IssuedToken out;
  out.access_token = std::move(token);
  out.expires_in_seconds = lifetime_seconds;
  out.expires_in_ms = (now + lifetime_seconds) * 1000 - now_ms - 1;
  out.scopes = scopes;
  return out;
}

StatusOr<VerifiedToken> TokenService::VerifyAccessToken(std::string_view token) {
  if (token.empty()) return OAuthInvalidToken("no access token given");
  if (token.size() > 16 * 1024) return OAuthInvalidToken("access token is too long");
  auto claims = keys_.Verify(token);
  if (!claims.ok())
    return OAuthInvalidToken("access token is not valid: " + claims.status().message());
  const nlohmann::json& c = *claims;
  auto str = [&](const char* name) -> std::string {
    auto it = c.find(name);
    return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (str("iss") != settings_.public_url)
    return OAuthInvalidToken("access token was not issued by this service");
  if (str("type") != "access_token") return OAuthInvalidToken("token is not an access token");
  auto exp = c.find("exp");
  if (exp == c.end() || !exp->is_number_integer())
    return OAuthInvalidToken("access token has no exp");
  if (exp->get<int64_t>() <= clock_.NowSeconds())
    return OAuthInvalidToken("access token has expired");
  VerifiedToken v;
  v.claims = c;
  v.client_id = str("client_id");
  v.user_id = str("user_id");
  v.org_id = str("org");
  v.scopes = SplitScopes(str("scope"));
  v.expires_at = exp->get<int64_t>();
  if (str("account_type") == "technical_account") {
    auto cred = LoadCredential(v.client_id);
    if (!cred.ok()) {
      if (cred.status().code() == Code::kNotFound)
        return OAuthInvalidToken("the credential of this token was deleted");
      return cred.status();
    }
  } else {
    auto user = store_.GetUser(v.user_id);
    if (!user.ok()) {
      if (user.status().code() == Code::kNotFound)
        return OAuthInvalidToken("the user of this token no longer exists");
      return user.status();
    }
  }
  return v;
}

Status TokenService::Prune() { return jtis_.Prune(clock_.NowSeconds()); }

}  // namespace portico::ims

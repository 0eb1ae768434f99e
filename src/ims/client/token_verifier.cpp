#include "ims/client/token_verifier.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/crypto/jws.h"
#include "core/crypto/sha256.h"
#include "core/json.h"
#include "core/log.h"

namespace portico::ims {
namespace {

Status InvalidToken(std::string message) {
  return Status(Code::kUnauthenticated, "invalid_token", std::move(message));
}

std::string StringClaim(const nlohmann::json& c, const char* name) {
  auto it = c.find(name);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> SplitScope(std::string_view scope) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < scope.size()) {
    size_t j = scope.find_first_of(", ", i);
    if (j == std::string_view::npos) j = scope.size();
    if (j > i) out.emplace_back(scope.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

bool TokenClaims::HasScope(std::string_view scope) const {
  for (const auto& s : scopes) {
    if (s == scope) return true;
  }
  return false;
}

TokenVerifier::TokenVerifier(TokenVerifierOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock()),
      http_(options_.http) {
  while (!options_.issuer.empty() && options_.issuer.back() == '/') options_.issuer.pop_back();
}

TokenVerifier::~TokenVerifier() = default;

Status TokenVerifier::Refresh() {
  std::lock_guard lock(mu_);
  return FetchLocked();
}

Status TokenVerifier::FetchLocked() {
  last_attempt_at_ = clock_.NowSeconds();
  http::ClientRequest req;
  req.url = options_.issuer + "/ims/keys";
  auto resp = http_.Send(req);
  if (!resp.ok()) {
    return Unavailable("the identity service at " + options_.issuer +
                       " cannot be reached for its signing keys: " + resp.status().message());
  }
  if (resp->status != 200) {
    return Unavailable("the identity service answered HTTP " + std::to_string(resp->status) +
                       " for its signing keys");
  }
  auto doc = ParseStrictJson(resp->body);
  if (!doc.ok() || !doc->is_object() || !doc->contains("keys") || !(*doc)["keys"].is_array()) {
    return Unavailable("the identity service's key set is not a JWKS document");
  }
  std::map<std::string, crypto::PublicKey> keys;
  for (const auto& jwk : (*doc)["keys"]) {
    if (!jwk.is_object() || !jwk.contains("kid") || !jwk["kid"].is_string()) continue;
    auto key = crypto::PublicKey::FromJwk(jwk);
    if (!key.ok()) {
      log::Warn("jwks_key_skipped", {{"reason", key.status().message()}});
      continue;
    }
    keys.emplace(jwk["kid"].get<std::string>(), std::move(*key));
  }
  if (keys.empty()) return Unavailable("the identity service publishes no usable signing key");
  keys_ = std::move(keys);
  fetched_at_ = last_attempt_at_;
  return Status::Ok();
}

StatusOr<crypto::PublicKey> TokenVerifier::KeyFor(const std::string& kid) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowSeconds();
  const bool stale = fetched_at_ == 0 || now - fetched_at_ >= options_.max_cache_age.count();
  auto it = keys_.find(kid);
  const bool may_fetch = now - last_attempt_at_ >= options_.min_refetch_interval.count();
  if ((it == keys_.end() || stale) && (may_fetch || keys_.empty())) {
    Status st = FetchLocked();
    if (!st.ok()) {
      if (keys_.empty()) return st;  // nothing cached: the caller cannot verify anything
      log::Warn("jwks_refresh_failed", {{"reason", st.message()}});
    }
    it = keys_.find(kid);
  }
  if (it == keys_.end()) return InvalidToken("access token is signed by an unknown key");
  return it->second;
}

size_t TokenVerifier::DigestHash::operator()(const std::string& digest) const {
  // The key is a SHA-256: any 8 of its bytes are as good a hash as any.
  size_t h = 0;
  std::memcpy(&h, digest.data(), std::min(sizeof h, digest.size()));
  return h;
}

TokenCacheStats TokenVerifier::CacheStats() const {
  TokenCacheStats out;
  {
    std::shared_lock lock(cache_mu_);
    out.entries = cache_.size();
  }
  out.hits = hits_.load(std::memory_order_relaxed);
  out.misses = misses_.load(std::memory_order_relaxed);
  return out;
}

std::optional<TokenClaims> TokenVerifier::Cached(const std::string& digest, int64_t now) {
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(digest);
    if (it == cache_.end()) return std::nullopt;
    if (now < it->second.valid_until) return it->second.claims;
  }
  // Expired: drop it (if nobody replaced it meanwhile); the caller verifies the token again.
  std::unique_lock lock(cache_mu_);
  auto it = cache_.find(digest);
  if (it != cache_.end() && now >= it->second.valid_until) cache_.erase(it);
  return std::nullopt;
}

void TokenVerifier::Remember(std::string digest, const TokenClaims& claims, int64_t now) {
  const int64_t valid_until =
      std::min(claims.expires_at, now + static_cast<int64_t>(options_.verified_cache_ttl.count()));
  if (valid_until <= now) return;
  std::unique_lock lock(cache_mu_);
  if (cache_.size() >= options_.verified_cache_entries && !cache_.count(digest)) {
    // Full: drop what has expired (at most once a second), then arbitrary entries (a dropped
    // token costs one more signature check, nothing else).
    if (now >= next_sweep_at_) {
      std::erase_if(cache_, [now](const auto& e) { return e.second.valid_until <= now; });
      next_sweep_at_ = now + 1;
    }
    while (!cache_.empty() && cache_.size() >= options_.verified_cache_entries) {
      cache_.erase(cache_.begin());
    }
  }
  cache_.insert_or_assign(std::move(digest), CachedClaims{claims, valid_until});
}

StatusOr<TokenClaims> TokenVerifier::Verify(std::string_view token, const TokenRequirements& req) {
  if (token.empty()) return InvalidToken("no access token given");
  if (token.size() > 16 * 1024) return InvalidToken("access token is too long");
  const bool caching =
      options_.verified_cache_entries > 0 && options_.verified_cache_ttl.count() > 0;
  std::string digest;
  std::optional<TokenClaims> cached;
  if (caching) {
    digest = crypto::Sha256Raw(token);
    cached = Cached(digest, clock_.NowSeconds());
  }
  TokenClaims out;
  if (cached) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    out = std::move(*cached);
  } else {
    misses_.fetch_add(1, std::memory_order_relaxed);
    PORTICO_ASSIGN_OR_RETURN(out, VerifyUncached(token));
    if (caching) Remember(std::move(digest), out, clock_.NowSeconds());
  }
  if (req.org && out.org != *req.org) {
    return Status(Code::kPermissionDenied, "wrong_org", "access token is of another org");
  }
  if (req.scope && !out.HasScope(*req.scope)) {
    return Status(Code::kPermissionDenied, "insufficient_scope",
                  "access token does not hold the scope '" + *req.scope + "'");
  }
  return out;
}

StatusOr<TokenClaims> TokenVerifier::VerifyUncached(std::string_view token) {
  auto jws = crypto::ParseJws(token);
  if (!jws.ok()) return InvalidToken("access token is malformed: " + jws.status().message());
  if (jws->kid.empty()) return InvalidToken("access token has no kid");
  PORTICO_ASSIGN_OR_RETURN(crypto::PublicKey key, KeyFor(jws->kid));
  if (Status st = crypto::VerifyJws(*jws, key); !st.ok()) {
    return InvalidToken("access token signature does not verify");
  }
  const nlohmann::json& c = jws->payload;
  if (StringClaim(c, "iss") != options_.issuer) {
    return InvalidToken("access token was issued by another identity service");
  }
  if (StringClaim(c, "type") != "access_token") return InvalidToken("not an access token");
  auto exp = c.find("exp");
  if (exp == c.end() || !exp->is_number_integer()) return InvalidToken("access token has no exp");
  const int64_t now = clock_.NowSeconds();
  if (exp->get<int64_t>() <= now) return InvalidToken("access token has expired");
  if (auto nbf = c.find("nbf"); nbf != c.end() && nbf->is_number_integer() &&
                                nbf->get<int64_t>() > now + options_.leeway_seconds) {
    return InvalidToken("access token is not valid yet");
  }
  TokenClaims out;
  out.subject = StringClaim(c, "sub");
  out.org = StringClaim(c, "org");
  out.client_id = StringClaim(c, "client_id");
  out.user_id = StringClaim(c, "user_id");
  out.account_type = StringClaim(c, "account_type");
  out.scopes = SplitScope(StringClaim(c, "scope"));
  out.expires_at = exp->get<int64_t>();
  if (out.org.empty()) return InvalidToken("access token names no org");
  return out;
}

}  // namespace portico::ims

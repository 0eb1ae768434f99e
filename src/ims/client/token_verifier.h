// Offline verification of the identity service's access tokens, for the other services (author,
// portal): the signature by a key of the service's JWKS (fetched from `<issuer>/ims/keys` and
// cached), the issuer, the type, the expiry and, as the caller asks, the org and a scope. A token
// signed with a kid the cache does not know makes one refetch (at most every
// `min_refetch_interval`), so rotated keys are picked up; when the identity service cannot be
// reached, the cached keys keep working. Thread-safe; Verify blocks only when it must fetch.
//
// A token that verified is remembered (keyed by the SHA-256 of its text; the token itself is not
// kept) with its claims until its exp, and at most `verified_cache_ttl`, so a client that sends
// the same token on every request (an author uploading thousands of blobs) costs one signature
// check, not one per request. The org and scope a call requires are checked on every call, from
// the remembered claims. Tokens of keys rotated away since stay valid until they leave the cache:
// their signature was good when checked.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/crypto/keys.h"
#include "core/http/client.h"
#include "core/status.h"

namespace portico::ims {

struct TokenVerifierOptions {
  std::string issuer;            // the identity service's public URL (the tokens' "iss")
  const Clock* clock = nullptr;  // default: the system clock
  std::chrono::seconds min_refetch_interval{10};
  std::chrono::seconds max_cache_age{3600};  // refetch in the background of a Verify after this
  int64_t leeway_seconds = 60;
  // Verified tokens are remembered until their exp, for at most this long; at most this many
  // (0: none). Beyond the bound, expired entries are dropped, then arbitrary ones.
  std::chrono::seconds verified_cache_ttl{300};
  size_t verified_cache_entries = 10'000;
  http::ClientOptions http{.connect_timeout = std::chrono::milliseconds(2'000),
                           .io_timeout = std::chrono::milliseconds(5'000)};
};

struct TokenClaims {
  std::string subject;       // "sub"
  std::string org;           // "org"
  std::string client_id;     // "client_id"
  std::string user_id;       // "user_id"
  std::string account_type;  // "technical_account" or "user"
  std::vector<std::string> scopes;
  int64_t expires_at = 0;
  bool HasScope(std::string_view scope) const;
};

struct TokenRequirements {
  std::optional<std::string> org;    // the token's org must be this one
  std::optional<std::string> scope;  // the token must hold this scope
};

// Counters of the verified-token cache (for tests and diagnostics).
struct TokenCacheStats {
  size_t entries = 0;
  uint64_t hits = 0;    // calls answered from the cache (requirements still checked)
  uint64_t misses = 0;  // calls that parsed and verified the token's signature
};

class TokenVerifier {
 public:
  explicit TokenVerifier(TokenVerifierOptions options);
  ~TokenVerifier();

  // Fails with Unauthenticated/invalid_token (bad, expired, or another issuer's token),
  // PermissionDenied/insufficient_scope (valid but without the scope), PermissionDenied/
  // wrong_org (valid but of another org; callers that must not reveal existence map it to 404),
  // or Unavailable when no key could ever be fetched.
  StatusOr<TokenClaims> Verify(std::string_view token, const TokenRequirements& req = {});

  // Fetches the JWKS now (at start, to fail early and to warm the cache).
  Status Refresh();

  TokenCacheStats CacheStats() const;

 private:
  struct CachedClaims {
    TokenClaims claims;
    int64_t valid_until = 0;  // Unix seconds: min(exp, when cached + verified_cache_ttl)
  };
  struct DigestHash {
    size_t operator()(const std::string& digest) const;
  };

  // Signature, issuer, type, expiry: the claims of a valid token, without requirements.
  StatusOr<TokenClaims> VerifyUncached(std::string_view token);
  // The remembered claims of the token whose SHA-256 is `digest`, if still valid at `now`.
  std::optional<TokenClaims> Cached(const std::string& digest, int64_t now);
  void Remember(std::string digest, const TokenClaims& claims, int64_t now);
  StatusOr<crypto::PublicKey> KeyFor(const std::string& kid);
  Status FetchLocked();

  TokenVerifierOptions options_;
  const Clock& clock_;
  http::HttpClient http_;
  std::mutex mu_;
  std::map<std::string, crypto::PublicKey> keys_;
  int64_t fetched_at_ = 0;                // Unix seconds of the last successful fetch
  int64_t last_attempt_at_ = -1'000'000;  // of the last attempt, successful or not

  mutable std::shared_mutex cache_mu_;
  std::unordered_map<std::string, CachedClaims, DigestHash> cache_;  // by SHA-256 of the token
  int64_t next_sweep_at_ = 0;  // earliest time a full cache is swept for expired entries
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace portico::ims

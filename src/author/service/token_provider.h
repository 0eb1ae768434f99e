// Holds the author's current access token of the identity service and renews it before it
// expires, for every caller that talks to the portal (publish worker, test connection).
//
// Renewal rule: a token obtained at O that expires at E is renewed by the first Get at or after
// E - min(renew_margin, (E - O) / 2), so short-lived tokens are renewed at half their life and
// long ones `renew_margin` before the end. A caller whose request was refused with 401 calls
// Invalidate(token): the next Get renews, exactly once however many callers report the same
// token. If a renewal fails while the held token has not expired, Get keeps answering the held
// token (the identity service may be down for a while) and retries at most every
// `retry_after_failure`; once it has expired, Get fails with the exchange's error.
//
// Thread-safe: renewals are serialized (callers arriving during one wait for its result).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace portico::author {

struct AccessToken {
  std::string token;
  int64_t obtained_at_ms = 0;
  int64_t expires_at_ms = 0;
};

// Obtains a fresh access token (e.g. the JWT exchange of the IMS configuration). Must be
// thread-safe; blocking.
class TokenExchanger {
 public:
  virtual ~TokenExchanger() = default;
  virtual StatusOr<AccessToken> Exchange() = 0;
};

struct TokenProviderOptions {
  std::chrono::milliseconds renew_margin{std::chrono::minutes(5)};
  std::chrono::milliseconds retry_after_failure{std::chrono::seconds(5)};
  const Clock* clock = nullptr;  // default: the system clock
};

class TokenProvider {
 public:
  // `exchanger` must outlive the provider.
  TokenProvider(TokenExchanger& exchanger, TokenProviderOptions options = {});

  // A token valid now, renewed first when the rule above says so. Fails with the exchanger's
  // error when no valid token can be had.
  StatusOr<std::string> Get();

  // Reports that `token` was refused (401). If it is the held token, it is dropped so the next
  // Get renews; an older token is ignored (someone already renewed).
  void Invalidate(std::string_view token);

  // Drops the held token (the configuration changed).
  void Reset();

  // How many exchanges were attempted so far (for tests and metrics).
  int64_t exchanges() const;

 private:
  bool NeedsRenewal(int64_t now_ms) const;

  TokenExchanger& exchanger_;
  TokenProviderOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::optional<AccessToken> current_;
  int64_t last_failure_ms_ = 0;
  bool failed_since_obtained_ = false;
  int64_t exchanges_ = 0;
};

}  // namespace portico::author

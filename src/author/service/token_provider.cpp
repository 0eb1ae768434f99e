#include "author/service/token_provider.h"

#include <algorithm>

namespace portico::author {

TokenProvider::TokenProvider(TokenExchanger& exchanger, TokenProviderOptions options)
    : exchanger_(exchanger),
      options_(options),
      clock_(options.clock ? *options.clock : SystemClock()) {}

bool TokenProvider::NeedsRenewal(int64_t now_ms) const {
  if (!current_) return true;
  const int64_t lifetime = current_->expires_at_ms - current_->obtained_at_ms;
  const int64_t margin = std::min<int64_t>(options_.renew_margin.count(), lifetime / 2);
  return now_ms >= current_->expires_at_ms - margin;
}

StatusOr<std::string> TokenProvider::Get() {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMillis();
  if (!NeedsRenewal(now)) return current_->token;
  const bool held_valid = current_ && now < current_->expires_at_ms;
  if (held_valid && failed_since_obtained_ &&
      now - last_failure_ms_ < options_.retry_after_failure.count()) {
    return current_->token;  // renewal failed a moment ago: do not hammer the identity service
  }
  ++exchanges_;
  auto fresh = exchanger_.Exchange();
  if (!fresh.ok()) {
    last_failure_ms_ = now;
    failed_since_obtained_ = true;
    if (held_valid) return current_->token;
    current_.reset();
    return fresh.status();
  }
  current_ = std::move(*fresh);
  failed_since_obtained_ = false;
  return current_->token;
}

void TokenProvider::Invalidate(std::string_view token) {
  std::lock_guard lock(mu_);
  if (current_ && current_->token == token) {
    current_.reset();
    failed_since_obtained_ = false;
  }
}

void TokenProvider::Reset() {
  std::lock_guard lock(mu_);
  current_.reset();
  failed_since_obtained_ = false;
}

int64_t TokenProvider::exchanges() const {
  std::lock_guard lock(mu_);
  return exchanges_;
}

}  // namespace portico::author

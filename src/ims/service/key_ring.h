// The identity service's token-signing keys (ES256). The first key is made on first start; its
// private part is stored sealed under the master key. Rotation makes a new active key and keeps
// the retired ones published in the JWKS until every token they signed has expired, then drops
// them. Thread-safe: signing and verifying take a shared lock, rotation an exclusive one.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/crypto/keys.h"
#include "core/crypto/secret_box.h"
#include "core/status.h"
#include "ims/store/ims_store.h"

namespace portico::ims {

class KeyRing {
 public:
  // Loads the keys (making the first one if there is none). `max_token_seconds` is the longest
  // lifetime of a token this service signs: how long a retired key stays published.
  static StatusOr<std::unique_ptr<KeyRing>> Load(ImsStore& store, const crypto::SecretBox& box,
                                                 const Clock& clock, int64_t max_token_seconds);

  // Signs `claims_json` (the JSON text of an object) with the active key; the header names its
  // `kid`.
  StatusOr<std::string> Sign(std::string_view claims_json) const;
  // Checks a token's signature against the published key its `kid` names and returns the
  // claims (not yet checked for expiry or audience). kInvalidArgument describes the fault.
  StatusOr<nlohmann::json> Verify(std::string_view token) const;
  // The published keys as a JWKS document (JSON text, cached).
  std::string JwksJson() const;
  std::string active_kid() const;
  // Retires the active key and makes a new one; drops keys whose tokens have all expired.
  Status Rotate();

 private:
  struct Entry {
    std::string kid;
    std::shared_ptr<crypto::PrivateKey> private_key;  // null for retired keys
    std::string encoded_header;                       // base64url JWS header, active key only
    crypto::PublicKey public_key;
    int64_t created_at = 0;
    std::optional<int64_t> retired_at;
  };
  KeyRing(ImsStore& store, const crypto::SecretBox& box, const Clock& clock,
          int64_t max_token_seconds)
      : store_(store), box_(box), clock_(clock), max_token_seconds_(max_token_seconds) {}
  Status Reload();  // exclusive lock held by the caller
  Status CreateKey();

  ImsStore& store_;
  const crypto::SecretBox& box_;
  const Clock& clock_;
  int64_t max_token_seconds_;
  mutable std::shared_mutex mu_;
  std::vector<Entry> keys_;  // published keys; the active one last
  std::string jwks_json_;
};

}  // namespace portico::ims

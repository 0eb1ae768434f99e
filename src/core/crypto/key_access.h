// Internal to portico_crypto: lets the X.509 and JWS code reach the OpenSSL key inside a
// PublicKey or PrivateKey, and wrap an OpenSSL public key as a PublicKey. Not a public API.
#pragma once

#include "core/crypto/keys.h"
#include "core/crypto/openssl_handles.h"
#include "core/status.h"

namespace portico::crypto {

struct KeyAccess {
  static EVP_PKEY* Pkey(const PublicKey& key) { return key.pkey_.get(); }
  static EVP_PKEY* Pkey(const PrivateKey& key) { return key.pkey_.get(); }

  // Takes ownership of a public (or private: only its public half is used) key. Fails with
  // InvalidArgument if the key is not allowed (RSA below 2048 bits, another curve, ...).
  static StatusOr<PublicKey> AdoptPublic(internal::EvpPkeyPtr pkey);

  // Takes ownership of a private key, with the same checks.
  static StatusOr<PrivateKey> AdoptPrivate(internal::EvpPkeyPtr pkey);
};

}  // namespace portico::crypto

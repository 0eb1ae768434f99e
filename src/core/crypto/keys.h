// Asymmetric signing keys for JOSE: RSA (RS256) and EC P-256 (ES256).
//
// Each key allows exactly one algorithm, decided by its type when it is loaded, never by a token:
// RSA keys sign and verify RS256 only, P-256 keys ES256 only. Keys that are too weak or of any
// other kind (RSA below 2048 bits, other curves, explicit curve parameters, RSA-PSS) are refused
// at load, so a PublicKey or PrivateKey that exists is always usable.
//
// Both classes are immutable and cheap to copy (copies share one OpenSSL key); any instance may
// be used from several threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace portico::crypto {

enum class JwsAlgorithm { kRS256, kES256 };

// "RS256" or "ES256".
std::string_view AlgorithmName(JwsAlgorithm alg);

// The algorithm with exactly this (case-sensitive) name; nullopt for every other string,
// including "none", "HS256" and "rs256".
std::optional<JwsAlgorithm> AlgorithmFromName(std::string_view name);

enum class KeyType { kRsa, kEcP256 };

struct KeyAccess;    // internal to portico_crypto
struct PkeyCtxPool;  // internal: ready OpenSSL contexts of one key and operation

class PublicKey {
 public:
  // Loads a SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"). Fails with InvalidArgument
  // if it does not parse or the key is not allowed (see the top of this file).
  static StatusOr<PublicKey> FromPem(std::string_view spki_pem);

  // Loads a JWK (RFC 7517/7518): {"kty":"RSA","n","e"} or {"kty":"EC","crv":"P-256","x","y"},
  // with x and y exactly 32 bytes and the point on the curve. Members are strict base64url.
  // Optional "alg" must be the key's algorithm and optional "use" must be "sig". A JWK holding
  // private members ("d", "p", ...) is refused so that a leaked private key is noticed.
  // Fails with InvalidArgument.
  static StatusOr<PublicKey> FromJwk(const nlohmann::json& jwk);

  KeyType type() const { return type_; }

  // The one algorithm this key verifies: RS256 for RSA, ES256 for P-256.
  JwsAlgorithm algorithm() const;

  // SubjectPublicKeyInfo PEM.
  std::string ToPem() const;

  // The public JWK with "kty", "kid", "use":"sig", "alg", and "n","e" or "crv","x","y".
  nlohmann::json ToJwk(std::string_view kid) const;

  // The RFC 7638 JWK thumbprint: base64url(SHA-256 of the canonical required members).
  std::string Thumbprint() const;

  // Checks `signature` over `signing_input`. Returns OK only if `alg` is this key's algorithm
  // and the signature is valid. Fails with InvalidArgument "algorithm X is not allowed for this
  // key" on an algorithm mismatch or a malformed ES256 signature (not 64 bytes, r or s zero or
  // not below the curve order), and with Unauthenticated if the signature does not verify.
  // ES256 signatures are in the JOSE form r || s, 32 bytes each.
  Status Verify(JwsAlgorithm alg, std::string_view signing_input, std::string_view signature) const;

 private:
  friend struct KeyAccess;
  PublicKey(std::shared_ptr<evp_pkey_st> pkey, KeyType type);

  std::shared_ptr<evp_pkey_st> pkey_;
  KeyType type_;
  std::shared_ptr<PkeyCtxPool> verify_contexts_;  // shared by copies of this key
};

class PrivateKey {
 public:
  // A fresh RSA key of `bits` bits (2048 to 8192). Fails with InvalidArgument outside that range.
  static StatusOr<PrivateKey> GenerateRsa(int bits = 2048);

  // A fresh P-256 key.
  static StatusOr<PrivateKey> GenerateEcP256();

  // Loads an unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), or a traditional "BEGIN RSA PRIVATE
  // KEY" / "BEGIN EC PRIVATE KEY" one. Encrypted PEMs are refused (never prompts). Fails with
  // InvalidArgument if it does not parse or the key is not allowed. Messages never quote the PEM.
  static StatusOr<PrivateKey> FromPem(std::string_view pkcs8_pem);

  KeyType type() const { return public_key_.type(); }
  JwsAlgorithm algorithm() const { return public_key_.algorithm(); }

  // Unencrypted PKCS#8 PEM. It is the secret itself: encrypt it (SecretBox) before storing it.
  std::string ToPem() const;

  // The matching public key.
  const PublicKey& public_key() const { return public_key_; }

  // Signs `signing_input`. Fails with InvalidArgument if `alg` is not this key's algorithm.
  // RS256 gives a modulus-sized signature; ES256 the 64-byte JOSE form r || s.
  StatusOr<std::string> Sign(JwsAlgorithm alg, std::string_view signing_input) const;

 private:
  friend struct KeyAccess;
  PrivateKey(std::shared_ptr<evp_pkey_st> pkey, PublicKey public_key);

  std::shared_ptr<evp_pkey_st> pkey_;
  PublicKey public_key_;
  std::shared_ptr<PkeyCtxPool> sign_contexts_;  // shared by copies of this key
};

}  // namespace portico::crypto

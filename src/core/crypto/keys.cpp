#include "core/crypto/keys.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <nlohmann/json.hpp>

#include "core/crypto/encoding.h"
#include "core/crypto/key_access.h"
#include "core/crypto/openssl_handles.h"
#include "core/crypto/sha256.h"
#include "core/json.h"

namespace portico::crypto {

// Contexts of one key, initialised for one operation (sign or verify, SHA-256, PKCS#1 v1.5 for
// RSA) and reused: setting a context up fetches the algorithm from OpenSSL's provider tables,
// which costs about as much as an ECDSA signature's arithmetic. A context serves one thread at a
// time; a few are kept for the threads that sign or verify at once.
struct PkeyCtxPool {
  static constexpr size_t kKept = 16;
  std::mutex mu;
  std::vector<internal::EvpPkeyCtxPtr> idle;

  internal::EvpPkeyCtxPtr Take() {
    std::lock_guard lock(mu);
    if (idle.empty()) return nullptr;
    internal::EvpPkeyCtxPtr ctx = std::move(idle.back());
    idle.pop_back();
    return ctx;
  }
  void Give(internal::EvpPkeyCtxPtr ctx) {
    std::lock_guard lock(mu);
    if (idle.size() < kKept) idle.push_back(std::move(ctx));
  }
};
namespace {

using internal::BignumPtr;
using internal::BioPtr;
using internal::DiscardOpenSslErrors;
using internal::EcdsaSigPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::OsslParamBldPtr;
using internal::OsslParamPtr;

constexpr int kMinRsaBits = 2048;
// Verification cost grows with the modulus, and public keys come from clients: bound it.
constexpr int kMaxRsaBits = 8192;
constexpr size_t kMaxPemBytes = size_t{64} * 1024;
constexpr size_t kP256CoordinateBytes = 32;
constexpr size_t kEs256SignatureBytes = 2 * kP256CoordinateBytes;

// The order n of the P-256 group, big-endian.
constexpr std::array<uint8_t, 32> kP256Order = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

std::shared_ptr<EVP_PKEY> Share(EvpPkeyPtr pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
}

Status AlgorithmNotAllowed(JwsAlgorithm alg) {
  return InvalidArgument("algorithm " + std::string(AlgorithmName(alg)) +
                         " is not allowed for this key");
}

// Decides whether a key is one we accept, and which type it is.
constexpr size_t kSha256Bytes = 32;

void Sha256Of(std::string_view data, unsigned char (&digest)[kSha256Bytes]) {
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &n, internal::Sha256Method(), nullptr) != 1 ||
      n != kSha256Bytes) {
    std::abort();  // SHA-256 of memory cannot fail in a working OpenSSL
  }
}

// A context of `pkey` ready to sign or verify SHA-256 digests (PKCS#1 v1.5 padding for RSA);
// null if OpenSSL refuses.
EvpPkeyCtxPtr NewPkeyCtx(EVP_PKEY* pkey, bool sign) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return nullptr;
  if ((sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get())) != 1) return nullptr;
  if (EVP_PKEY_is_a(pkey, "RSA") &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return nullptr;
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), internal::Sha256Method()) != 1) return nullptr;
  return ctx;
}

StatusOr<KeyType> AllowedKeyType(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinRsaBits) return InvalidArgument("RSA keys must have at least 2048 bits");
    if (bits > kMaxRsaBits) return InvalidArgument("RSA keys above 8192 bits are not supported");
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      DiscardOpenSslErrors();
      return InvalidArgument("RSA key has no public exponent");
    }
    BignumPtr exponent(e);
    if (!BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) {
      return InvalidArgument("RSA public exponent is invalid");
    }
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char name[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &length) != 1) {
      DiscardOpenSslErrors();  // explicit curve parameters have no name: refused on purpose
      return InvalidArgument("EC keys must use the named curve P-256");
    }
    const std::string_view group(name, length);
    if (group != "prime256v1" && group != "P-256") {
      return InvalidArgument("EC keys must use the curve P-256");
    }
    // The point must be on the curve and of the right order (invalid-curve attacks).
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
      DiscardOpenSslErrors();
      return InvalidArgument("EC public key is not a valid P-256 point");
    }
    return KeyType::kEcP256;
  }
  return InvalidArgument("only RSA and EC P-256 keys are supported");
}

BignumPtr GetBnParam(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) std::abort();  // checked at load
  return BignumPtr(bn);
}

std::string BnBytes(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string BnBytesPadded(const BIGNUM* bn, size_t size) {
  std::string out(size, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) < 0) {
    std::abort();  // a coordinate larger than its field: the key was checked at load
  }
  return out;
}

// The members RFC 7638 hashes, which are also the key material of ToJwk.
nlohmann::json RequiredJwkMembers(EVP_PKEY* pkey, KeyType type) {
  nlohmann::json jwk = nlohmann::json::object();
  if (type == KeyType::kRsa) {
    jwk["kty"] = "RSA";
    jwk["n"] = Base64UrlEncode(BnBytes(GetBnParam(pkey, OSSL_PKEY_PARAM_RSA_N).get()));
    jwk["e"] = Base64UrlEncode(BnBytes(GetBnParam(pkey, OSSL_PKEY_PARAM_RSA_E).get()));
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = Base64UrlEncode(
        BnBytesPadded(GetBnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X).get(), kP256CoordinateBytes));
    jwk["y"] = Base64UrlEncode(
        BnBytesPadded(GetBnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y).get(), kP256CoordinateBytes));
  }
  return jwk;
}

StatusOr<std::string> JwkBytesMember(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return InvalidArgument(std::string("JWK member '") + name + "' must be a string");
  }
  auto bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes.ok()) {
    return InvalidArgument(std::string("JWK member '") + name + "' is not valid base64url");
  }
  return std::move(bytes).value();
}

// Builds an OpenSSL public key of `key_type` ("RSA" or "EC") from provider parameters.
StatusOr<EvpPkeyPtr> KeyFromParams(const char* key_type, OSSL_PARAM_BLD* builder) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(builder));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  if (!params || !ctx) std::abort();  // allocation failure
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    DiscardOpenSslErrors();
    return InvalidArgument("JWK does not describe a valid public key");
  }
  return EvpPkeyPtr(pkey);
}

StatusOr<EvpPkeyPtr> RsaKeyFromJwk(const nlohmann::json& jwk) {
  PORTICO_ASSIGN_OR_RETURN(std::string n, JwkBytesMember(jwk, "n"));
  PORTICO_ASSIGN_OR_RETURN(std::string e, JwkBytesMember(jwk, "e"));
  if (n.empty() || e.empty()) return InvalidArgument("JWK RSA members must not be empty");
  BignumPtr n_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr));
  BignumPtr e_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr));
  OsslParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    std::abort();  // allocation failure
  }
  return KeyFromParams("RSA", builder.get());
}

StatusOr<EvpPkeyPtr> EcKeyFromJwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || *crv != "P-256") {
    return InvalidArgument("JWK curve must be P-256");
  }
  PORTICO_ASSIGN_OR_RETURN(std::string x, JwkBytesMember(jwk, "x"));
  PORTICO_ASSIGN_OR_RETURN(std::string y, JwkBytesMember(jwk, "y"));
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return InvalidArgument("JWK P-256 coordinates must be 32 bytes each");
  }
  const std::string point = '\x04' + x + y;  // SEC 1 uncompressed form
  OsslParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    std::abort();  // allocation failure
  }
  return KeyFromParams("EC", builder.get());
}

bool IsZero(const uint8_t* value) {
  uint8_t any = 0;
  for (size_t i = 0; i < kP256CoordinateBytes; ++i) any |= value[i];
  return any == 0;
}

bool BelowP256Order(const uint8_t* value) {
  // Equal-length big-endian byte strings compare like the numbers they encode.
  return std::memcmp(value, kP256Order.data(), kP256Order.size()) < 0;
}

// Appends a DER INTEGER holding the unsigned big-endian `value`.
void AppendDerInteger(const uint8_t* value, size_t size, std::string& out) {
  size_t skip = 0;
  while (skip + 1 < size && value[skip] == 0) ++skip;
  const bool needs_sign_byte = (value[skip] & 0x80) != 0;
  out += '\x02';
  out += static_cast<char>(size - skip + (needs_sign_byte ? 1 : 0));
  if (needs_sign_byte) out += '\0';
  out.append(reinterpret_cast<const char*>(value + skip), size - skip);
}

// Converts a JOSE r || s signature to the DER form OpenSSL verifies, refusing values that no
// valid signature can have before OpenSSL ever sees them (CVE-2022-21449: r = s = 0).
StatusOr<std::string> JoseToDer(std::string_view signature) {
  if (signature.size() != kEs256SignatureBytes) {
    return InvalidArgument("ES256 signature must be 64 bytes");
  }
  const auto* r = reinterpret_cast<const uint8_t*>(signature.data());
  const uint8_t* s = r + kP256CoordinateBytes;
  if (IsZero(r) || IsZero(s) || !BelowP256Order(r) || !BelowP256Order(s)) {
    return InvalidArgument("ES256 signature is out of range");
  }
  std::string body;
  AppendDerInteger(r, kP256CoordinateBytes, body);
  AppendDerInteger(s, kP256CoordinateBytes, body);
  std::string der = "\x30";  // SEQUENCE; at most 70 bytes, so the short length form
  der += static_cast<char>(body.size());
  der += body;
  return der;
}

std::string DerToJose(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) std::abort();  // OpenSSL produced an unparsable signature
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return BnBytesPadded(r, kP256CoordinateBytes) + BnBytesPadded(s, kP256CoordinateBytes);
}

EvpPkeyPtr PublicHalf(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(pkey, &der);
  if (size <= 0) std::abort();
  const unsigned char* p = der;
  EvpPkeyPtr public_key(d2i_PUBKEY(nullptr, &p, size));
  OPENSSL_free(der);
  if (!public_key) std::abort();
  return public_key;
}

// Never prompts for a passphrase: an encrypted PEM simply fails to load.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

}  // namespace

std::string_view AlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kRS256:
      return "RS256";
    case JwsAlgorithm::kES256:
      return "ES256";
  }
  std::abort();
}

std::optional<JwsAlgorithm> AlgorithmFromName(std::string_view name) {
  if (name == "RS256") return JwsAlgorithm::kRS256;
  if (name == "ES256") return JwsAlgorithm::kES256;
  return std::nullopt;
}

PublicKey::PublicKey(std::shared_ptr<evp_pkey_st> pkey, KeyType type)
    : pkey_(std::move(pkey)), type_(type), verify_contexts_(std::make_shared<PkeyCtxPool>()) {}

PrivateKey::PrivateKey(std::shared_ptr<evp_pkey_st> pkey, PublicKey public_key)
    : pkey_(std::move(pkey)),
      public_key_(std::move(public_key)),
      sign_contexts_(std::make_shared<PkeyCtxPool>()) {}

StatusOr<PublicKey> KeyAccess::AdoptPublic(EvpPkeyPtr pkey) {
  PORTICO_ASSIGN_OR_RETURN(KeyType type, AllowedKeyType(pkey.get()));
  return PublicKey(Share(std::move(pkey)), type);
}

StatusOr<PrivateKey> KeyAccess::AdoptPrivate(EvpPkeyPtr pkey) {
  PORTICO_ASSIGN_OR_RETURN(PublicKey public_key, AdoptPublic(PublicHalf(pkey.get())));
  return PrivateKey(Share(std::move(pkey)), std::move(public_key));
}

// ---- PublicKey ----

StatusOr<PublicKey> PublicKey::FromPem(std::string_view spki_pem) {
  if (spki_pem.size() > kMaxPemBytes) return InvalidArgument("public key PEM is too large");
  BioPtr bio = internal::ReadOnlyBio(spki_pem);
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    DiscardOpenSslErrors();
    return InvalidArgument("not a PEM public key (expected BEGIN PUBLIC KEY)");
  }
  return KeyAccess::AdoptPublic(std::move(pkey));
}

StatusOr<PublicKey> PublicKey::FromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return InvalidArgument("JWK must be a JSON object");
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(secret)) return InvalidArgument("JWK contains private key material");
  }
  if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
    return InvalidArgument("JWK 'use' must be 'sig'");
  }
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return InvalidArgument("JWK has no 'kty'");
  EvpPkeyPtr pkey;
  if (*kty == "RSA") {
    PORTICO_ASSIGN_OR_RETURN(pkey, RsaKeyFromJwk(jwk));
  } else if (*kty == "EC") {
    PORTICO_ASSIGN_OR_RETURN(pkey, EcKeyFromJwk(jwk));
  } else {
    return InvalidArgument("JWK 'kty' must be RSA or EC");
  }
  PORTICO_ASSIGN_OR_RETURN(PublicKey key, KeyAccess::AdoptPublic(std::move(pkey)));
  if (auto alg = jwk.find("alg");
      alg != jwk.end() && *alg != std::string(AlgorithmName(key.algorithm()))) {
    return InvalidArgument("JWK 'alg' does not match its key type");
  }
  return key;
}

JwsAlgorithm PublicKey::algorithm() const {
  return type_ == KeyType::kRsa ? JwsAlgorithm::kRS256 : JwsAlgorithm::kES256;
}

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) std::abort();
  return internal::MemoryBioContents(bio.get());
}

nlohmann::json PublicKey::ToJwk(std::string_view kid) const {
  nlohmann::json jwk = RequiredJwkMembers(pkey_.get(), type_);
  jwk["kid"] = std::string(kid);
  jwk["use"] = "sig";
  jwk["alg"] = std::string(AlgorithmName(algorithm()));
  return jwk;
}

std::string PublicKey::Thumbprint() const {
  // nlohmann::json orders members by name and JsonDump adds no whitespace: RFC 7638's form.
  return Base64UrlEncode(Sha256Raw(JsonDump(RequiredJwkMembers(pkey_.get(), type_))));
}

Status PublicKey::Verify(JwsAlgorithm alg, std::string_view signing_input,
                         std::string_view signature) const {
  if (alg != algorithm()) return AlgorithmNotAllowed(alg);
  std::string der;
  if (type_ == KeyType::kEcP256) {
    PORTICO_ASSIGN_OR_RETURN(der, JoseToDer(signature));
    signature = der;
  }
  unsigned char digest[kSha256Bytes];
  Sha256Of(signing_input, digest);
  EvpPkeyCtxPtr ctx = verify_contexts_->Take();
  if (!ctx) {
    ctx = NewPkeyCtx(pkey_.get(), /*sign=*/false);
    if (!ctx) {
      DiscardOpenSslErrors();
      return Internal("signature verification could not be started");
    }
  }
  const int verified =
      EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size(), digest, sizeof(digest));
  if (verified != 1) {
    DiscardOpenSslErrors();
    if (verified == 0) verify_contexts_->Give(std::move(ctx));  // a wrong signature, not an error
    return Unauthenticated("signature verification failed");
  }
  verify_contexts_->Give(std::move(ctx));
  return {};
}

// ---- PrivateKey ----

StatusOr<PrivateKey> PrivateKey::GenerateRsa(int bits) {
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return InvalidArgument("RSA key size must be between 2048 and 8192 bits");
  }
  EvpPkeyPtr pkey(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (!pkey) {
    DiscardOpenSslErrors();
    return Internal("RSA key generation failed");
  }
  return KeyAccess::AdoptPrivate(std::move(pkey));
}

StatusOr<PrivateKey> PrivateKey::GenerateEcP256() {
  EvpPkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) {
    DiscardOpenSslErrors();
    return Internal("EC key generation failed");
  }
  return KeyAccess::AdoptPrivate(std::move(pkey));
}

StatusOr<PrivateKey> PrivateKey::FromPem(std::string_view pkcs8_pem) {
  if (pkcs8_pem.size() > kMaxPemBytes) return InvalidArgument("private key PEM is too large");
  BioPtr bio = internal::ReadOnlyBio(pkcs8_pem);
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr));
  if (!pkey) {
    DiscardOpenSslErrors();
    return InvalidArgument("not an unencrypted PEM private key");
  }
  return KeyAccess::AdoptPrivate(std::move(pkey));
}

std::string PrivateKey::ToPem() const {
  // Secure memory: the buffer is wiped when the BIO is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    std::abort();
  }
  return internal::MemoryBioContents(bio.get());
}

StatusOr<std::string> PrivateKey::Sign(JwsAlgorithm alg, std::string_view signing_input) const {
  if (alg != algorithm()) return AlgorithmNotAllowed(alg);
  unsigned char digest[kSha256Bytes];
  Sha256Of(signing_input, digest);
  EvpPkeyCtxPtr ctx = sign_contexts_->Take();
  if (!ctx) ctx = NewPkeyCtx(pkey_.get(), /*sign=*/true);
  std::string signature(static_cast<size_t>(EVP_PKEY_get_size(pkey_.get())), '\0');
  size_t size = signature.size();
  if (!ctx || EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                            digest, sizeof(digest)) != 1) {
    DiscardOpenSslErrors();
    return Internal("signing failed");
  }
  sign_contexts_->Give(std::move(ctx));
  signature.resize(size);
  if (type() == KeyType::kEcP256) return DerToJose(signature);
  return signature;
}

}  // namespace portico::crypto

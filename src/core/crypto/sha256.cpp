#include "core/crypto/sha256.h"

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/crypto/encoding.h"
#include "core/crypto/openssl_handles.h"

namespace portico::crypto {

namespace internal {

const EVP_MD* Sha256Method() {
  static const EVP_MD* const kMethod = [] {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) std::abort();  // a broken OpenSSL installation
    return md;
  }();
  return kMethod;
}

}  // namespace internal

namespace {

void InitOrAbort(EVP_MD_CTX* ctx) {
  if (EVP_DigestInit_ex(ctx, internal::Sha256Method(), nullptr) != 1) std::abort();
}

}  // namespace

void Sha256::ContextDeleter::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) std::abort();
  InitOrAbort(ctx_.get());
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::string_view data) {
  if (!ctx_) std::abort();  // used after move
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) std::abort();
}

std::string Sha256::Final() {
  if (!ctx_) std::abort();  // used after move
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(digest.data()), &size) != 1) {
    std::abort();
  }
  digest.resize(size);
  InitOrAbort(ctx_.get());
  return digest;
}

std::string Sha256::FinalHex() { return HexEncode(Final()); }

std::string Sha256Raw(std::string_view data) {
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &size,
                 internal::Sha256Method(), nullptr) != 1) {
    std::abort();
  }
  digest.resize(size);
  return digest;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256Raw(data)); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace portico::crypto

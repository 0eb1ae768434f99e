// Internal to portico_crypto: owning handles for OpenSSL objects, and the error-queue discipline.
// Never include this from a public header.
#pragma once

#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

namespace portico::crypto::internal {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using EcdsaSigPtr = OpenSslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using EvpCipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using OsslParamBldPtr = OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using OsslParamPtr = OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;

// The SHA-256 implementation, fetched once: an implicit fetch per call is measurably slower
// in OpenSSL 3. Never null (aborts if the default provider has no SHA-256).
const EVP_MD* Sha256Method();

// Drops whatever a failed OpenSSL call left on this thread's error queue, so that it cannot be
// mistaken later for the cause of an unrelated failure. Call on every failure path.
inline void DiscardOpenSslErrors() { ERR_clear_error(); }

// Everything written to a memory BIO so far.
inline std::string MemoryBioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

// A read-only memory BIO over `data`, which must outlive it. Callers bound the size of what they
// parse; above INT_MAX, or on allocation failure, this aborts.
inline BioPtr ReadOnlyBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) std::abort();
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) std::abort();
  return bio;
}

}  // namespace portico::crypto::internal

#include "core/crypto/x509.h"

#include <ctime>

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/crypto/key_access.h"
#include "core/crypto/openssl_handles.h"
#include "core/crypto/random.h"
#include "core/crypto/sha256.h"

namespace portico::crypto {
namespace {

using internal::BignumPtr;
using internal::BioPtr;
using internal::DiscardOpenSslErrors;
using internal::EvpPkeyPtr;
using internal::X509Ptr;

constexpr size_t kMaxPemBytes = size_t{64} * 1024;
constexpr size_t kMaxCommonNameBytes = 64;  // ub-common-name, RFC 5280
constexpr std::chrono::hours kMaxValidity{24 * 366 * 100};
constexpr std::string_view kBeginCertificate = "-----BEGIN CERTIFICATE-----";

bool IsPemWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool AllWhitespace(std::string_view text) {
  for (char c : text) {
    if (!IsPemWhitespace(c)) return false;
  }
  return true;
}

std::chrono::system_clock::time_point ToTimePoint(const ASN1_TIME* time) {
  using std::chrono::duration_cast;
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  using std::chrono::sys_days;
  using std::chrono::system_clock;
  using std::chrono::year;
  std::tm tm = {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) std::abort();  // validated by the DER parser
  const sys_days day = year{tm.tm_year + 1900} / (tm.tm_mon + 1) / tm.tm_mday;
  const seconds since_epoch =
      day.time_since_epoch() + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
  // system_clock counts nanoseconds in 64 bits (years 1677 to 2262); certificates may say 9999.
  constexpr auto kMax = duration_cast<seconds>(system_clock::time_point::max().time_since_epoch());
  constexpr auto kMin = duration_cast<seconds>(system_clock::time_point::min().time_since_epoch());
  if (since_epoch >= kMax) return system_clock::time_point::max();
  if (since_epoch <= kMin) return system_clock::time_point::min();
  return system_clock::time_point(since_epoch);
}

std::string SubjectLine(X509* x509) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) std::abort();
  if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(x509), 0, XN_FLAG_RFC2253) < 0) {
    DiscardOpenSslErrors();
    return "";
  }
  return internal::MemoryBioContents(bio.get());
}

std::string DerFingerprint(X509* x509) {
  unsigned char* der = nullptr;
  const int size = i2d_X509(x509, &der);
  if (size <= 0) std::abort();
  std::string fingerprint = Sha256Hex(std::string_view(reinterpret_cast<char*>(der), size));
  OPENSSL_free(der);
  return fingerprint;
}

Status FailedTo(const char* what) {
  DiscardOpenSslErrors();
  return Internal(std::string("could not create the certificate: ") + what);
}

}  // namespace

Certificate::Certificate(std::shared_ptr<x509_st> x509, PublicKey public_key)
    : x509_(std::move(x509)),
      public_key_(std::move(public_key)),
      subject_(SubjectLine(x509_.get())),
      not_before_(ToTimePoint(X509_get0_notBefore(x509_.get()))),
      not_after_(ToTimePoint(X509_get0_notAfter(x509_.get()))),
      fingerprint_sha256_(DerFingerprint(x509_.get())) {}

StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return InvalidArgument("certificate PEM is too large");
  size_t start = 0;
  while (start < pem.size() && IsPemWhitespace(pem[start])) ++start;
  // PEM readers skip any text before BEGIN; we do not, so that garbage is never accepted.
  if (pem.substr(start, kBeginCertificate.size()) != kBeginCertificate) {
    return InvalidArgument("not a PEM certificate (expected BEGIN CERTIFICATE)");
  }
  BioPtr bio = internal::ReadOnlyBio(pem.substr(start));
  X509Ptr x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x509) {
    DiscardOpenSslErrors();
    return InvalidArgument("malformed PEM certificate");
  }
  char* rest = nullptr;
  const long rest_size = BIO_get_mem_data(bio.get(), &rest);
  if (rest_size > 0 && !AllWhitespace(std::string_view(rest, static_cast<size_t>(rest_size)))) {
    return InvalidArgument("unexpected data after the certificate (exactly one is expected)");
  }
  EVP_PKEY* pkey = X509_get0_pubkey(x509.get());
  if (pkey == nullptr) {
    DiscardOpenSslErrors();
    return InvalidArgument("certificate public key cannot be decoded");
  }
  EVP_PKEY_up_ref(pkey);
  auto public_key = KeyAccess::AdoptPublic(EvpPkeyPtr(pkey));
  if (!public_key.ok()) {
    return InvalidArgument("certificate key is not allowed: " + public_key.status().message());
  }
  return Certificate(std::shared_ptr<X509>(x509.release(), X509_free),
                     std::move(public_key).value());
}

std::string Certificate::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), x509_.get()) != 1) std::abort();
  return internal::MemoryBioContents(bio.get());
}

StatusOr<std::string> CreateSelfSignedCertificate(const PrivateKey& key,
                                                  std::string_view common_name,
                                                  std::chrono::hours validity) {
  if (common_name.empty() || common_name.size() > kMaxCommonNameBytes) {
    return InvalidArgument("certificate common name must be 1 to 64 bytes");
  }
  if (validity < std::chrono::hours(1) || validity > kMaxValidity) {
    return InvalidArgument("certificate validity must be between 1 hour and 100 years");
  }
  X509Ptr x509(X509_new());
  if (!x509) std::abort();
  if (X509_set_version(x509.get(), X509_VERSION_3) != 1) return FailedTo("set the version");

  std::string serial_bytes = RandomBytes(16);
  serial_bytes[0] = static_cast<char>((serial_bytes[0] & 0x7f) | 0x40);  // positive, 16 bytes
  BignumPtr serial(BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes.data()),
                             static_cast<int>(serial_bytes.size()), nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x509.get())) == nullptr) {
    return FailedTo("set the serial number");
  }

  const long validity_seconds = static_cast<long>(validity.count()) * 3600;
  if (X509_gmtime_adj(X509_getm_notBefore(x509.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x509.get()), validity_seconds) == nullptr) {
    return FailedTo("set the validity");
  }

  X509_NAME* name = X509_get_subject_name(x509.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    DiscardOpenSslErrors();
    return InvalidArgument("certificate common name is not valid UTF-8");
  }
  if (X509_set_issuer_name(x509.get(), name) != 1) return FailedTo("set the issuer");

  EVP_PKEY* pkey = KeyAccess::Pkey(key);
  if (X509_set_pubkey(x509.get(), pkey) != 1) return FailedTo("set the public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x509.get(), x509.get(), nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:FALSE");
  if (extension == nullptr) return FailedTo("build basicConstraints");
  const int added = X509_add_ext(x509.get(), extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) return FailedTo("add basicConstraints");

  if (X509_sign(x509.get(), pkey, internal::Sha256Method()) <= 0) return FailedTo("sign");

  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), x509.get()) != 1) std::abort();
  return internal::MemoryBioContents(bio.get());
}

}  // namespace portico::crypto

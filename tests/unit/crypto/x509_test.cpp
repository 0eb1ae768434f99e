#include "core/crypto/x509.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/crypto/encoding.h"
#include "core/crypto/sha256.h"

namespace portico::crypto {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

// A self-signed certificate for `pkey` made with raw OpenSSL, for keys PrivateKey refuses.
std::string RawSelfSigned(EVP_PKEY* pkey, const char* not_after = nullptr) {
  X509* x509 = X509_new();
  X509_set_version(x509, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509), 0);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
  if (not_after != nullptr) ASN1_TIME_set_string(X509_getm_notAfter(x509), not_after);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x509), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("weak"), -1, -1, 0);
  X509_set_issuer_name(x509, X509_get_subject_name(x509));
  X509_set_pubkey(x509, pkey);
  X509_sign(x509, pkey, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x509);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  X509_free(x509);
  return pem;
}

class X509Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateRsa());
    ec_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateEcP256());
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    ec_.reset();
  }
  static std::unique_ptr<PrivateKey> rsa_;
  static std::unique_ptr<PrivateKey> ec_;
};
std::unique_ptr<PrivateKey> X509Test::rsa_;
std::unique_ptr<PrivateKey> X509Test::ec_;

TEST_F(X509Test, SelfSignedCertificateParsesBack) {
  for (const PrivateKey* key : {rsa_.get(), ec_.get()}) {
    const auto before = system_clock::now();
    auto pem = CreateSelfSignedCertificate(*key, "portico.example", hours(24 * 365));
    ASSERT_TRUE(pem.ok()) << pem.status().ToString();
    EXPECT_EQ(pem->rfind("-----BEGIN CERTIFICATE-----", 0), 0u);

    auto cert = Certificate::FromPem(*pem);
    ASSERT_TRUE(cert.ok()) << cert.status().ToString();
    EXPECT_EQ(cert->subject(), "CN=portico.example");
    EXPECT_EQ(cert->public_key().ToPem(), key->public_key().ToPem());
    EXPECT_EQ(cert->public_key().Thumbprint(), key->public_key().Thumbprint());
    EXPECT_EQ(cert->public_key().algorithm(), key->algorithm());

    // Dates have second precision: allow a little slack either side.
    EXPECT_LE(cert->not_before(), system_clock::now() + std::chrono::seconds(1));
    EXPECT_GE(cert->not_before(), before - std::chrono::seconds(2));
    EXPECT_GE(cert->not_after() - cert->not_before(), hours(24 * 365) - std::chrono::seconds(2));
    EXPECT_LE(cert->not_after() - cert->not_before(), hours(24 * 365) + std::chrono::seconds(2));

    EXPECT_EQ(cert->fingerprint_sha256().size(), 64u);
    EXPECT_EQ(cert->pem(), *pem);
    auto again = Certificate::FromPem(cert->pem());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->fingerprint_sha256(), cert->fingerprint_sha256());
  }
}

TEST_F(X509Test, FingerprintIsTheSha256OfTheDer) {
  auto pem = CreateSelfSignedCertificate(*ec_, "fp", hours(1));
  ASSERT_TRUE(pem.ok());
  auto cert = Certificate::FromPem(*pem);
  ASSERT_TRUE(cert.ok());
  // The DER is the base64 body of the PEM.
  std::string body;
  for (size_t pos = pem->find('\n') + 1; pos < pem->size();) {
    const size_t end = pem->find('\n', pos);
    const std::string line = pem->substr(pos, end - pos);
    if (line.rfind("-----END", 0) == 0) break;
    body += line;
    pos = end + 1;
  }
  auto der = Base64Decode(body);
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(cert->fingerprint_sha256(), Sha256Hex(*der));
}

TEST_F(X509Test, CertificatesAreUniqueAndSignedByTheKey) {
  auto first = CreateSelfSignedCertificate(*ec_, "same", hours(1));
  auto second = CreateSelfSignedCertificate(*ec_, "same", hours(1));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*first, *second);  // random serials (and ECDSA nonces)

  BIO* bio = BIO_new_mem_buf(first->data(), static_cast<int>(first->size()));
  X509* x509 = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(x509, nullptr);
  EXPECT_EQ(X509_verify(x509, X509_get0_pubkey(x509)), 1);
  EXPECT_EQ(X509_get_version(x509), X509_VERSION_3);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x509);
  EXPECT_EQ(serial->length, 16);
  EXPECT_EQ(serial->type, V_ASN1_INTEGER);  // positive
  EXPECT_EQ(X509_get_signature_nid(x509), NID_ecdsa_with_SHA256);
  int critical = 0;
  auto* constraints = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x509, NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(constraints, nullptr);
  EXPECT_FALSE(constraints->ca);
  EXPECT_EQ(critical, 1);
  BASIC_CONSTRAINTS_free(constraints);
  X509_free(x509);
}

TEST_F(X509Test, CreateRefusesBadArguments) {
  EXPECT_FALSE(CreateSelfSignedCertificate(*ec_, "", hours(1)).ok());
  EXPECT_FALSE(CreateSelfSignedCertificate(*ec_, std::string(65, 'a'), hours(1)).ok());
  EXPECT_FALSE(CreateSelfSignedCertificate(*ec_, "x", hours(0)).ok());
  EXPECT_FALSE(CreateSelfSignedCertificate(*ec_, "x", hours(-5)).ok());
  EXPECT_FALSE(CreateSelfSignedCertificate(*ec_, "x", hours(24 * 366 * 200)).ok());
  EXPECT_TRUE(CreateSelfSignedCertificate(*ec_, std::string(64, 'a'), hours(1)).ok());
}

TEST_F(X509Test, WhitespaceAroundIsAcceptedButNothingElse) {
  auto pem = CreateSelfSignedCertificate(*ec_, "ws", hours(1));
  ASSERT_TRUE(pem.ok());
  EXPECT_TRUE(Certificate::FromPem("\n  " + *pem + "\n\r\n  \t").ok());
  EXPECT_FALSE(Certificate::FromPem(*pem + *pem).ok());
  EXPECT_FALSE(Certificate::FromPem(*pem + "junk").ok());
  EXPECT_FALSE(Certificate::FromPem("Subject: someone\n" + *pem).ok());
  EXPECT_FALSE(Certificate::FromPem(pem->substr(0, pem->size() - 30)).ok());
}

TEST_F(X509Test, GarbageIsRefused) {
  for (const std::string& bad : {std::string(), std::string("garbage"),
                                 std::string("-----BEGIN CERTIFICATE-----\n"
                                             "bm90IGEgY2VydGlmaWNhdGU=\n"
                                             "-----END CERTIFICATE-----\n"),
                                 std::string("-----BEGIN CERTIFICATE-----\n"
                                             "!!!!\n"
                                             "-----END CERTIFICATE-----\n"),
                                 ec_->public_key().ToPem(), ec_->ToPem()}) {
    auto cert = Certificate::FromPem(bad);
    EXPECT_FALSE(cert.ok());
    if (!cert.ok()) {
      EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(X509KeyPolicyTest, WeakOrForeignKeysAreRefused) {
  EVP_PKEY* weak = EVP_RSA_gen(1024);
  ASSERT_NE(weak, nullptr);
  auto cert = Certificate::FromPem(RawSelfSigned(weak));
  EXPECT_FALSE(cert.ok());
  EVP_PKEY_free(weak);

  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  ASSERT_NE(p384, nullptr);
  EXPECT_FALSE(Certificate::FromPem(RawSelfSigned(p384)).ok());
  EVP_PKEY_free(p384);

  EVP_PKEY* good = EVP_EC_gen("P-256");
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(Certificate::FromPem(RawSelfSigned(good)).ok());  // the helper itself works
  EVP_PKEY_free(good);
}

TEST(X509DatesTest, FarFutureNotAfterIsClampedNotOverflowed) {
  // RFC 5280 uses 99991231235959Z for "no expiry": beyond system_clock's nanosecond range.
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  auto cert = Certificate::FromPem(RawSelfSigned(key, "99991231235959Z"));
  EVP_PKEY_free(key);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(cert->not_after(), system_clock::time_point::max());
  EXPECT_LT(cert->not_before(), system_clock::now() + std::chrono::minutes(1));

  key = EVP_EC_gen("P-256");
  auto in_2100 = Certificate::FromPem(RawSelfSigned(key, "21000101000000Z"));
  EVP_PKEY_free(key);
  ASSERT_TRUE(in_2100.ok());
  EXPECT_EQ(in_2100->not_after(),
            system_clock::time_point(std::chrono::sys_days(std::chrono::year(2100) / 1 / 1)));
}

}  // namespace
}  // namespace portico::crypto

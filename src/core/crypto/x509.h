// X.509 certificates: parsing one PEM certificate, and creating self-signed ones (for example
// for a SAML or OIDC signing key that must be published as a certificate).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/crypto/keys.h"
#include "core/status.h"

struct x509_st;  // OpenSSL's X509, kept out of this header

namespace portico::crypto {

// One parsed certificate. Immutable and cheap to copy; thread-safe.
// Parsing says nothing about trust: no chain, signature or date is checked.
class Certificate {
 public:
  // Parses exactly one "BEGIN CERTIFICATE" PEM block. Leading and trailing whitespace is allowed;
  // anything else (other text, a second certificate, a malformed block) is refused, as is a
  // certificate whose key is not allowed by PublicKey (RSA below 2048 bits, curves other than
  // P-256). Fails with InvalidArgument.
  static StatusOr<Certificate> FromPem(std::string_view pem);

  // The subject distinguished name on one line, RFC 2253 style ("CN=example,O=Org").
  const std::string& subject() const { return subject_; }

  // The validity period. Dates beyond what system_clock can hold are clamped to its range.
  std::chrono::system_clock::time_point not_before() const { return not_before_; }
  std::chrono::system_clock::time_point not_after() const { return not_after_; }

  const PublicKey& public_key() const { return public_key_; }

  // Lowercase hex SHA-256 of the DER encoding (64 characters).
  const std::string& fingerprint_sha256() const { return fingerprint_sha256_; }

  // The certificate re-encoded as a single PEM block.
  std::string pem() const;

 private:
  Certificate(std::shared_ptr<x509_st> x509, PublicKey public_key);

  std::shared_ptr<x509_st> x509_;
  PublicKey public_key_;
  std::string subject_;
  std::chrono::system_clock::time_point not_before_;
  std::chrono::system_clock::time_point not_after_;
  std::string fingerprint_sha256_;
};

// A self-signed X.509 v3 certificate for `key`, as PEM: subject and issuer CN=`common_name`
// (1 to 64 bytes of UTF-8), valid from now for `validity` (1 hour to 100 years), a random
// positive 128-bit serial, a SHA-256 signature, and a critical basicConstraints CA:FALSE.
// Fails with InvalidArgument on an out-of-range argument, Internal if OpenSSL fails.
StatusOr<std::string> CreateSelfSignedCertificate(const PrivateKey& key,
                                                  std::string_view common_name,
                                                  std::chrono::hours validity);

}  // namespace portico::crypto

#include "core/crypto/keys.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <nlohmann/json.hpp>

#include "core/crypto/encoding.h"

namespace portico::crypto {
namespace {

// The RFC 7638 §3.1 example key and its thumbprint.
const char kRfc7638N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWK"
    "RXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMic"
    "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3"
    "XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const char kRfc7638Thumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// The order of P-256, big-endian.
const std::string kP256Order = std::string(
    "\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"
    "\xbc\xe6\xfa\xad\xa7\x17\x9e\x84\xf3\xb9\xca\xc2\xfc\x63\x25\x51",
    32);

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using RawKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string WithBio(int (*write)(BIO*, EVP_PKEY*), EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(write(bio, pkey), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

int WritePublic(BIO* bio, EVP_PKEY* pkey) { return PEM_write_bio_PUBKEY(bio, pkey); }
int WritePkcs8(BIO* bio, EVP_PKEY* pkey) {
  return PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
}
int WriteTraditional(BIO* bio, EVP_PKEY* pkey) {
  return PEM_write_bio_PrivateKey_traditional(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
}
int WriteEncrypted(BIO* bio, EVP_PKEY* pkey) {
  static char password[] = "password";
  return PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), password, 8, nullptr, nullptr);
}

// r || s (32 bytes each) to DER, independently of the code under test.
std::string JoseToDer(const std::string& jose) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(jose.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(jose.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int size = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

std::string DerToJose(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

class KeysTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateRsa());
    ec_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateEcP256());
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    ec_.reset();
  }
  static const PrivateKey& rsa() { return *rsa_; }
  static const PrivateKey& ec() { return *ec_; }

  static std::unique_ptr<PrivateKey> rsa_;
  static std::unique_ptr<PrivateKey> ec_;
};
std::unique_ptr<PrivateKey> KeysTest::rsa_;
std::unique_ptr<PrivateKey> KeysTest::ec_;

TEST(JwsAlgorithmTest, NamesAreExactAndCaseSensitive) {
  EXPECT_EQ(AlgorithmName(JwsAlgorithm::kRS256), "RS256");
  EXPECT_EQ(AlgorithmName(JwsAlgorithm::kES256), "ES256");
  EXPECT_EQ(AlgorithmFromName("RS256"), JwsAlgorithm::kRS256);
  EXPECT_EQ(AlgorithmFromName("ES256"), JwsAlgorithm::kES256);
  for (const char* name : {"", "none", "None", "NONE", "HS256", "RS384", "PS256", "rs256", "Es256",
                           "RS256 ", " ES256", "ES256\n"}) {
    EXPECT_FALSE(AlgorithmFromName(name).has_value()) << name;
  }
  EXPECT_FALSE(AlgorithmFromName(std::string("RS256\0", 6)).has_value());
}

TEST_F(KeysTest, KeysAllowExactlyOneAlgorithm) {
  EXPECT_EQ(rsa().type(), KeyType::kRsa);
  EXPECT_EQ(rsa().algorithm(), JwsAlgorithm::kRS256);
  EXPECT_EQ(rsa().public_key().algorithm(), JwsAlgorithm::kRS256);
  EXPECT_EQ(ec().type(), KeyType::kEcP256);
  EXPECT_EQ(ec().algorithm(), JwsAlgorithm::kES256);
  EXPECT_EQ(ec().public_key().type(), KeyType::kEcP256);
}

TEST_F(KeysTest, SignAndVerifyBothAlgorithms) {
  for (const PrivateKey* key : {&rsa(), &ec()}) {
    auto signature = key->Sign(key->algorithm(), "header.payload");
    ASSERT_TRUE(signature.ok()) << signature.status().ToString();
    EXPECT_EQ(signature->size(), key->type() == KeyType::kRsa ? 256u : 64u);
    EXPECT_TRUE(key->public_key().Verify(key->algorithm(), "header.payload", *signature).ok());
  }
}

TEST_F(KeysTest, TamperedInputFails) {
  for (const PrivateKey* key : {&rsa(), &ec()}) {
    auto signature = key->Sign(key->algorithm(), "header.payload");
    ASSERT_TRUE(signature.ok());
    Status status = key->public_key().Verify(key->algorithm(), "header.payloaD", *signature);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), Code::kUnauthenticated);
    EXPECT_FALSE(key->public_key().Verify(key->algorithm(), "header.payload ", *signature).ok());
    EXPECT_FALSE(key->public_key().Verify(key->algorithm(), "", *signature).ok());
  }
}

TEST_F(KeysTest, FlippedTruncatedOrExtendedSignatureFails) {
  for (const PrivateKey* key : {&rsa(), &ec()}) {
    const PublicKey& pub = key->public_key();
    const std::string signature = *key->Sign(key->algorithm(), "input");
    for (size_t i = 0; i < signature.size(); i += 7) {
      std::string flipped = signature;
      flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
      EXPECT_FALSE(pub.Verify(key->algorithm(), "input", flipped).ok()) << i;
    }
    EXPECT_FALSE(
        pub.Verify(key->algorithm(), "input", signature.substr(0, signature.size() - 1)).ok());
    EXPECT_FALSE(pub.Verify(key->algorithm(), "input", signature + '\0').ok());
    EXPECT_FALSE(pub.Verify(key->algorithm(), "input", "").ok());
  }
}

TEST_F(KeysTest, SignatureFromAnotherKeyFails) {
  auto other_ec = PrivateKey::GenerateEcP256();
  ASSERT_TRUE(other_ec.ok());
  const std::string signature = *other_ec->Sign(JwsAlgorithm::kES256, "input");
  EXPECT_FALSE(ec().public_key().Verify(JwsAlgorithm::kES256, "input", signature).ok());
}

TEST_F(KeysTest, AlgorithmMismatchIsRefused) {
  const std::string rsa_signature = *rsa().Sign(JwsAlgorithm::kRS256, "input");
  Status status = rsa().public_key().Verify(JwsAlgorithm::kES256, "input", rsa_signature);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "algorithm ES256 is not allowed for this key");
  status = ec().public_key().Verify(JwsAlgorithm::kRS256, "input", rsa_signature);
  EXPECT_EQ(status.message(), "algorithm RS256 is not allowed for this key");
  EXPECT_FALSE(rsa().Sign(JwsAlgorithm::kES256, "input").ok());
  EXPECT_FALSE(ec().Sign(JwsAlgorithm::kRS256, "input").ok());
}

TEST_F(KeysTest, Es256ZeroAndOutOfRangeValuesAreRefused) {
  const PublicKey& pub = ec().public_key();
  const std::string valid = *ec().Sign(JwsAlgorithm::kES256, "input");
  ASSERT_TRUE(pub.Verify(JwsAlgorithm::kES256, "input", valid).ok());
  const std::string r = valid.substr(0, 32);
  const std::string s = valid.substr(32);
  const std::string zero(32, '\0');
  const std::string all_ones(32, '\xff');

  struct Case {
    const char* name;
    std::string signature;
  } cases[] = {
      {"r=0,s=0", zero + zero},    {"r=0", zero + s},       {"s=0", r + zero},
      {"r=n", kP256Order + s},     {"s=n", r + kP256Order}, {"r=2^256-1", all_ones + s},
      {"s=2^256-1", r + all_ones},
  };
  for (const Case& c : cases) {
    Status status = pub.Verify(JwsAlgorithm::kES256, "input", c.signature);
    EXPECT_FALSE(status.ok()) << c.name;
    // Refused by the range check, before OpenSSL: InvalidArgument, not a failed verification.
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << c.name;
  }
  // r + n would be the same residue; a value just below n is in range and merely wrong.
  std::string n_minus_one = kP256Order;
  n_minus_one[31] = static_cast<char>(n_minus_one[31] - 1);
  EXPECT_EQ(pub.Verify(JwsAlgorithm::kES256, "input", n_minus_one + s).code(),
            Code::kUnauthenticated);
}

TEST_F(KeysTest, Es256UsesTheJoseFormNotDer) {
  // Our r || s signature, converted to DER independently, verifies with raw OpenSSL...
  const std::string jose = *ec().Sign(JwsAlgorithm::kES256, "interop");
  const std::string der = JoseToDer(jose);
  const std::string public_pem = ec().public_key().ToPem();
  BIO* public_bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  RawKey raw(PEM_read_bio_PUBKEY(public_bio, nullptr, nullptr, nullptr));
  BIO_free(public_bio);
  ASSERT_NE(raw, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, raw.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                             reinterpret_cast<const unsigned char*>("interop"), 7),
            1);
  EVP_MD_CTX_free(ctx);
  // ...and the DER form itself is refused by Verify.
  EXPECT_FALSE(ec().public_key().Verify(JwsAlgorithm::kES256, "interop", der).ok());
  // A DER signature made by raw OpenSSL, converted to r || s, verifies with Verify.
  auto private_pem = ec().ToPem();
  BIO* bio = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
  RawKey raw_private(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  ASSERT_NE(raw_private, nullptr);
  ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, raw_private.get()), 1);
  std::string raw_der(100, '\0');
  size_t size = raw_der.size();
  ASSERT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(raw_der.data()), &size,
                           reinterpret_cast<const unsigned char*>("interop"), 7),
            1);
  EVP_MD_CTX_free(ctx);
  raw_der.resize(size);
  EXPECT_TRUE(ec().public_key().Verify(JwsAlgorithm::kES256, "interop", DerToJose(raw_der)).ok());
}

TEST_F(KeysTest, PemRoundTrips) {
  for (const PrivateKey* key : {&rsa(), &ec()}) {
    const std::string private_pem = key->ToPem();
    EXPECT_EQ(private_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
    auto reloaded = PrivateKey::FromPem(private_pem);
    ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
    EXPECT_EQ(reloaded->type(), key->type());
    EXPECT_EQ(reloaded->public_key().Thumbprint(), key->public_key().Thumbprint());
    const std::string signature = *reloaded->Sign(key->algorithm(), "x");
    EXPECT_TRUE(key->public_key().Verify(key->algorithm(), "x", signature).ok());

    const std::string public_pem = key->public_key().ToPem();
    EXPECT_EQ(public_pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
    auto pub = PublicKey::FromPem(public_pem);
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    EXPECT_EQ(pub->ToPem(), public_pem);
    EXPECT_TRUE(pub->Verify(key->algorithm(), "x", signature).ok());
  }
}

TEST_F(KeysTest, TraditionalPrivatePemsLoad) {
  for (const PrivateKey* key : {&rsa(), &ec()}) {
    const std::string pkcs8 = key->ToPem();
    BIO* bio = BIO_new_mem_buf(pkcs8.data(), static_cast<int>(pkcs8.size()));
    RawKey raw(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    const std::string traditional = WithBio(WriteTraditional, raw.get());
    const char* expected_label = key->type() == KeyType::kRsa ? "-----BEGIN RSA PRIVATE KEY-----"
                                                              : "-----BEGIN EC PRIVATE KEY-----";
    ASSERT_EQ(traditional.rfind(expected_label, 0), 0u) << traditional.substr(0, 40);
    auto loaded = PrivateKey::FromPem(traditional);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->public_key().Thumbprint(), key->public_key().Thumbprint());
  }
}

TEST_F(KeysTest, EncryptedOrGarbagePemIsRefused) {
  const std::string pkcs8 = ec().ToPem();
  BIO* bio = BIO_new_mem_buf(pkcs8.data(), static_cast<int>(pkcs8.size()));
  RawKey raw(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  const std::string encrypted = WithBio(WriteEncrypted, raw.get());
  ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(PrivateKey::FromPem(encrypted).ok());  // and does not prompt on the terminal

  for (const std::string& bad : {std::string(), std::string("garbage"),
                                 std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                             "-----END PRIVATE KEY-----\n"),
                                 ec().public_key().ToPem(), pkcs8.substr(0, pkcs8.size() / 2)}) {
    EXPECT_FALSE(PrivateKey::FromPem(bad).ok());
  }
  EXPECT_FALSE(PublicKey::FromPem("garbage").ok());
  EXPECT_FALSE(PublicKey::FromPem(pkcs8).ok());
  const std::string pub = ec().public_key().ToPem();
  EXPECT_FALSE(PublicKey::FromPem(pub.substr(0, pub.size() - 30)).ok());
}

TEST(KeyPolicyTest, Rsa1024IsRefusedEverywhere) {
  EXPECT_FALSE(PrivateKey::GenerateRsa(1024).ok());
  EXPECT_FALSE(PrivateKey::GenerateRsa(2047).ok());
  RawKey weak(EVP_RSA_gen(1024));
  ASSERT_NE(weak, nullptr);
  auto pub = PublicKey::FromPem(WithBio(WritePublic, weak.get()));
  ASSERT_FALSE(pub.ok());
  EXPECT_NE(pub.status().message().find("2048"), std::string::npos);
  EXPECT_FALSE(PrivateKey::FromPem(WithBio(WritePkcs8, weak.get())).ok());
  EXPECT_FALSE(PrivateKey::FromPem(WithBio(WriteTraditional, weak.get())).ok());

  BIGNUM* n = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(weak.get(), "n", &n), 1);
  std::string n_bytes(static_cast<size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(n_bytes.data()));
  BN_free(n);
  nlohmann::json jwk = {{"kty", "RSA"}, {"n", Base64UrlEncode(n_bytes)}, {"e", "AQAB"}};
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
}

TEST(KeyPolicyTest, OtherCurvesAndKeyTypesAreRefused) {
  for (const char* curve : {"P-384", "secp256k1"}) {
    RawKey key(EVP_EC_gen(curve));
    ASSERT_NE(key, nullptr) << curve;
    EXPECT_FALSE(PublicKey::FromPem(WithBio(WritePublic, key.get())).ok()) << curve;
    EXPECT_FALSE(PrivateKey::FromPem(WithBio(WritePkcs8, key.get())).ok()) << curve;
  }
  RawKey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(ed, nullptr);
  EXPECT_FALSE(PublicKey::FromPem(WithBio(WritePublic, ed.get())).ok());
  EXPECT_FALSE(PrivateKey::FromPem(WithBio(WritePkcs8, ed.get())).ok());
}

TEST(JwkTest, Rfc7638ExampleThumbprint) {
  nlohmann::json jwk = {
      {"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}};
  auto key = PublicKey::FromJwk(jwk);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->Thumbprint(), kRfc7638Thumbprint);
  const nlohmann::json out = key->ToJwk("2011-04-29");
  EXPECT_EQ(out["n"], kRfc7638N);
  EXPECT_EQ(out["e"], "AQAB");
  EXPECT_EQ(out["kty"], "RSA");
  EXPECT_EQ(out["kid"], "2011-04-29");
  EXPECT_EQ(out["use"], "sig");
  EXPECT_EQ(out["alg"], "RS256");
}

TEST_F(KeysTest, JwkRoundTripsForBothKeyTypes) {
  for (const PrivateKey* key : {&rsa(), &ec()}) {
    const nlohmann::json jwk = key->public_key().ToJwk("k1");
    if (key->type() == KeyType::kEcP256) {
      EXPECT_EQ(jwk["kty"], "EC");
      EXPECT_EQ(jwk["crv"], "P-256");
      EXPECT_EQ(jwk["alg"], "ES256");
      EXPECT_EQ(jwk["x"].get<std::string>().size(), 43u);
      EXPECT_EQ(jwk["y"].get<std::string>().size(), 43u);
    } else {
      EXPECT_EQ(jwk["alg"], "RS256");
    }
    EXPECT_FALSE(jwk.contains("d"));
    auto reloaded = PublicKey::FromJwk(jwk);
    ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
    EXPECT_EQ(reloaded->Thumbprint(), key->public_key().Thumbprint());
    EXPECT_EQ(reloaded->ToPem(), key->public_key().ToPem());
    const std::string signature = *key->Sign(key->algorithm(), "x");
    EXPECT_TRUE(reloaded->Verify(key->algorithm(), "x", signature).ok());
  }
  EXPECT_NE(rsa().public_key().Thumbprint(), ec().public_key().Thumbprint());
  EXPECT_EQ(ec().public_key().Thumbprint().size(), 43u);
}

TEST_F(KeysTest, JwkPointNotOnCurveIsRefused) {
  nlohmann::json jwk = ec().public_key().ToJwk("k");
  std::string y = *Base64UrlDecode(jwk["y"].get<std::string>());
  y[31] = static_cast<char>(y[31] ^ 0x01);
  jwk["y"] = Base64UrlEncode(y);
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
  // The point at "infinity"-like all-zero coordinates is not on the curve either.
  jwk["x"] = Base64UrlEncode(std::string(32, '\0'));
  jwk["y"] = Base64UrlEncode(std::string(32, '\0'));
  EXPECT_FALSE(PublicKey::FromJwk(jwk).ok());
}

TEST_F(KeysTest, MalformedJwksAreRefused) {
  const nlohmann::json good = ec().public_key().ToJwk("k");
  ASSERT_TRUE(PublicKey::FromJwk(good).ok());
  auto with = [&](const char* member, nlohmann::json value) {
    nlohmann::json jwk = good;
    jwk[member] = std::move(value);
    return PublicKey::FromJwk(jwk).ok();
  };
  const std::string x = *Base64UrlDecode(good["x"].get<std::string>());
  EXPECT_FALSE(with("x", Base64UrlEncode(x.substr(1))));               // 31 bytes
  EXPECT_FALSE(with("x", Base64UrlEncode(std::string(1, '\0') + x)));  // 33 bytes
  EXPECT_FALSE(with("x", good["x"].get<std::string>() + "="));         // padded
  EXPECT_FALSE(with("x", 5));
  EXPECT_FALSE(with("crv", "P-384"));
  EXPECT_FALSE(with("kty", "oct"));
  EXPECT_FALSE(with("kty", "ec"));
  EXPECT_FALSE(with("alg", "RS256"));
  EXPECT_FALSE(with("alg", "none"));
  EXPECT_FALSE(with("use", "enc"));
  EXPECT_FALSE(with("d", Base64UrlEncode(std::string(32, '\x01'))));
  nlohmann::json no_y = good;
  no_y.erase("y");
  EXPECT_FALSE(PublicKey::FromJwk(no_y).ok());
  EXPECT_FALSE(PublicKey::FromJwk(nlohmann::json::array()).ok());
  EXPECT_FALSE(PublicKey::FromJwk(nlohmann::json("x")).ok());
}

TEST_F(KeysTest, KeysAreUsableFromSeveralThreads) {
  const PrivateKey key = ec();  // copies share the key
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&key, &failures, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string input = std::to_string(t) + ":" + std::to_string(i);
        auto signature = key.Sign(JwsAlgorithm::kES256, input);
        if (!signature.ok() ||
            !key.public_key().Verify(JwsAlgorithm::kES256, input, *signature).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace portico::crypto

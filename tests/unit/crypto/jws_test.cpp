#include "core/crypto/jws.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/crypto/encoding.h"
#include "core/json.h"

namespace portico::crypto {
namespace {

std::string B64(std::string_view text) { return Base64UrlEncode(text); }

// A token from raw parts; the signature is arbitrary bytes.
std::string Token(std::string_view header_json, std::string_view payload_json,
                  std::string_view signature = "sig") {
  return B64(header_json) + "." + B64(payload_json) + "." + B64(signature);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

class JwsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateRsa());
    rsa_other_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateRsa());
    ec_ = std::make_unique<PrivateKey>(*PrivateKey::GenerateEcP256());
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    rsa_other_.reset();
    ec_.reset();
  }

  static void ExpectRefused(std::string_view token, std::string_view message_part) {
    auto parsed = ParseJws(token);
    ASSERT_FALSE(parsed.ok()) << message_part;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(message_part), std::string::npos)
        << parsed.status().message();
  }

  static std::unique_ptr<PrivateKey> rsa_;
  static std::unique_ptr<PrivateKey> rsa_other_;
  static std::unique_ptr<PrivateKey> ec_;
};
std::unique_ptr<PrivateKey> JwsTest::rsa_;
std::unique_ptr<PrivateKey> JwsTest::rsa_other_;
std::unique_ptr<PrivateKey> JwsTest::ec_;

const nlohmann::json kEmpty = nlohmann::json::object();
const nlohmann::json kClaims = {{"iss", "https://issuer.example"}, {"sub", "alice"}, {"n", 1}};

TEST_F(JwsTest, SignParseVerifyRoundTrip) {
  for (const PrivateKey* key : {rsa_.get(), ec_.get()}) {
    auto token = SignJws({{"kid", "key-1"}, {"typ", "JWT"}}, kClaims, *key, key->algorithm());
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    auto parsed = ParseJws(*token);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->alg, key->algorithm());
    EXPECT_EQ(parsed->header["alg"], std::string(AlgorithmName(key->algorithm())));
    EXPECT_EQ(parsed->header["typ"], "JWT");
    EXPECT_EQ(parsed->kid, "key-1");
    EXPECT_EQ(parsed->payload, kClaims);
    EXPECT_EQ(parsed->signing_input, token->substr(0, token->rfind('.')));
    EXPECT_TRUE(VerifyJws(*parsed, key->public_key()).ok());
  }
}

TEST_F(JwsTest, HeaderAlgIsOverwrittenBySign) {
  auto token = SignJws({{"alg", "none"}}, kClaims, *ec_, JwsAlgorithm::kES256);
  ASSERT_TRUE(token.ok());
  auto parsed = ParseJws(*token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header["alg"], "ES256");
}

TEST_F(JwsTest, SignRefusesNonObjectsAndTheWrongAlgorithm) {
  EXPECT_FALSE(SignJws(nlohmann::json::array(), kClaims, *ec_, JwsAlgorithm::kES256).ok());
  EXPECT_FALSE(SignJws(nlohmann::json::object(), "claims", *ec_, JwsAlgorithm::kES256).ok());
  EXPECT_FALSE(SignJws(nlohmann::json::object(), kClaims, *ec_, JwsAlgorithm::kRS256).ok());
}

TEST_F(JwsTest, TokenSignedByAnotherKeyFails) {
  auto token = SignJws(kEmpty, kClaims, *rsa_, JwsAlgorithm::kRS256);
  ASSERT_TRUE(token.ok());
  auto parsed = ParseJws(*token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(VerifyJws(*parsed, rsa_->public_key()).ok());
  EXPECT_FALSE(VerifyJws(*parsed, rsa_other_->public_key()).ok());
  // ES256 key: algorithm mismatch, never a verification with the token's algorithm.
  Status status = VerifyJws(*parsed, ec_->public_key());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("not allowed for this key"), std::string::npos);
}

TEST_F(JwsTest, TamperedPayloadFails) {
  auto token = SignJws(kEmpty, kClaims, *ec_, JwsAlgorithm::kES256);
  ASSERT_TRUE(token.ok());
  const size_t first = token->find('.');
  const size_t second = token->rfind('.');
  nlohmann::json forged = kClaims;
  forged["sub"] = "admin";
  const std::string tampered =
      token->substr(0, first + 1) + B64(JsonDump(forged)) + token->substr(second);
  auto parsed = ParseJws(tampered);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(VerifyJws(*parsed, ec_->public_key()).ok());
}

TEST_F(JwsTest, AlgNoneIsRefusedInEveryCase) {
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"("})";
    // With an empty signature, as alg=none tokens usually come, and with a fake one.
    ExpectRefused(B64(header) + "." + B64(JsonDump(kClaims)) + ".",
                  std::string("JWT algorithm '") + alg + "' is not allowed");
    ExpectRefused(Token(header, JsonDump(kClaims)), "is not allowed");
  }
}

TEST_F(JwsTest, OtherAlgorithmsAreRefused) {
  for (const char* alg : {"HS256", "HS512", "RS384", "RS512", "PS256", "ES384", "ES512", "EdDSA",
                          "rs256", "es256", "RS256 ", ""}) {
    ExpectRefused(Token(std::string(R"({"alg":")") + alg + R"("})", "{}"), "is not allowed");
  }
  ExpectRefused(Token(R"({"typ":"JWT"})", "{}"), "'alg'");
  ExpectRefused(Token(R"({"alg":null})", "{}"), "'alg'");
  ExpectRefused(Token(R"({"alg":["RS256"]})", "{}"), "'alg'");
}

TEST_F(JwsTest, HmacTokenKeyedWithThePublicKeyIsNeverAccepted) {
  // The classic confusion attack: HMAC the token with the RSA public key's PEM as the secret.
  const std::string pem = rsa_->public_key().ToPem();
  for (const char* alg : {"HS256", "RS256"}) {
    const std::string signing_input =
        B64(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})") + "." + B64(JsonDump(kClaims));
    const std::string token = signing_input + "." + B64(HmacSha256(pem, signing_input));
    auto parsed = ParseJws(token);
    if (parsed.ok()) {
      EXPECT_FALSE(VerifyJws(*parsed, rsa_->public_key()).ok()) << alg;
    } else {
      EXPECT_EQ(std::string(alg), "HS256");
    }
  }
}

TEST_F(JwsTest, DuplicateClaimsAndHeadersAreRefused) {
  ExpectRefused(Token(R"({"alg":"ES256"})", R"({"sub":"alice","sub":"admin"})"), "duplicate");
  ExpectRefused(Token(R"({"alg":"ES256"})", R"({"a":{"x":1,"x":2}})"), "duplicate");
  ExpectRefused(Token(R"({"alg":"ES256","alg":"none"})", "{}"), "duplicate");
  ExpectRefused(Token(R"({"alg":"none","alg":"ES256"})", "{}"), "duplicate");
  ExpectRefused(Token(R"({"alg":"ES256","kid":"a","kid":"b"})", "{}"), "duplicate");
}

TEST_F(JwsTest, CritIsRefused) {
  ExpectRefused(Token(R"({"alg":"ES256","crit":["exp"],"exp":1})", "{}"),
                "critical header parameters are not supported");
  ExpectRefused(Token(R"({"alg":"ES256","crit":[]})", "{}"), "critical");
}

TEST_F(JwsTest, KeySourceHeadersAreRefused) {
  const std::string jwk = JsonDump(ec_->public_key().ToJwk("k"));
  ExpectRefused(Token(R"({"alg":"ES256","jku":"https://evil.example/jwks"})", "{}"),
                "JWT header 'jku' is not accepted: keys are never taken from the token");
  ExpectRefused(Token(R"({"alg":"ES256","x5u":"https://evil.example/cert"})", "{}"),
                "JWT header 'x5u' is not accepted");
  ExpectRefused(Token(R"({"alg":"ES256","jwk":)" + jwk + "}", "{}"),
                "JWT header 'jwk' is not accepted");
  ExpectRefused(Token(R"({"alg":"ES256","x5c":["MIIB"]})", "{}"),
                "JWT header 'x5c' is not accepted");
}

TEST_F(JwsTest, WrongNumberOfPartsIsRefused) {
  auto token = SignJws(kEmpty, kClaims, *ec_, JwsAlgorithm::kES256);
  ASSERT_TRUE(token.ok());
  ExpectRefused(*token + ".", "three parts");
  ExpectRefused(*token + "." + B64("x"), "three parts");
  ExpectRefused(token->substr(0, token->rfind('.')), "three parts");
  ExpectRefused(token->substr(0, token->find('.')), "three parts");
  ExpectRefused("", "three parts");
  ExpectRefused("..", "");
  ExpectRefused("a..b.", "three parts");
}

TEST_F(JwsTest, OversizedTokenIsRefused) {
  const std::string big_claim(20000, 'x');
  auto token = SignJws(kEmpty, {{"big", big_claim}}, *ec_, JwsAlgorithm::kES256);
  ASSERT_TRUE(token.ok());
  ExpectRefused(*token, "larger than 16384");
  JwsLimits roomy;
  roomy.max_token_bytes = 64 * 1024;
  EXPECT_TRUE(ParseJws(*token, roomy).ok());
  JwsLimits tight;
  tight.max_token_bytes = 10;
  auto small = SignJws(kEmpty, kEmpty, *ec_, JwsAlgorithm::kES256);
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(ParseJws(*small, tight).ok());
}

TEST_F(JwsTest, MalformedPartsAreRefused) {
  const std::string header = B64(R"({"alg":"ES256"})");
  const std::string payload = B64("{}");
  ExpectRefused(header + "=." + payload + "." + B64("s"), "header is not valid base64url");
  ExpectRefused(header + "." + payload + "+." + B64("s"), "payload is not valid base64url");
  ExpectRefused(header + "." + payload + ".a/b", "signature is not valid base64url");
  ExpectRefused(header + "." + payload + ".", "signature is empty");
  ExpectRefused(B64("[1]") + "." + payload + "." + B64("s"), "header is not an object");
  ExpectRefused(header + "." + B64("\"claims\"") + "." + B64("s"), "payload is not an object");
  ExpectRefused(header + "." + B64("{") + "." + B64("s"), "payload is not valid");
  ExpectRefused(B64("not json") + "." + payload + "." + B64("s"), "header is not valid");
  ExpectRefused(header + "." + "." + B64("s"), "payload");
  ExpectRefused(Token(R"({"alg":"ES256","kid":7})", "{}"), "'kid' must be a string");
}

TEST_F(JwsTest, MessagesNeverQuoteTheToken) {
  const std::string secret_claim = "very-secret-claim-value";
  const std::string token =
      Token(R"({"alg":"HS256"})", R"({"x":")" + secret_claim + R"("})") + "." + B64("extra");
  auto parsed = ParseJws(token);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().find(secret_claim), std::string::npos);
  EXPECT_EQ(parsed.status().message().find(token.substr(0, 10)), std::string::npos);
  // A hostile algorithm name is clipped and made printable.
  auto hostile = ParseJws(Token(R"({"alg":"x\n')" + std::string(200, 'A') + R"("})", "{}"));
  ASSERT_FALSE(hostile.ok());
  EXPECT_LT(hostile.status().message().size(), 100u);
  EXPECT_EQ(hostile.status().message().find('\n'), std::string::npos);
}

TEST_F(JwsTest, VerifyRefusesAParsedJwsWithoutAlgorithm) {
  auto token = SignJws(kEmpty, kClaims, *ec_, JwsAlgorithm::kES256);
  auto parsed = ParseJws(*token);
  ASSERT_TRUE(parsed.ok());
  parsed->alg.reset();
  EXPECT_FALSE(VerifyJws(*parsed, ec_->public_key()).ok());
}

}  // namespace
}  // namespace portico::crypto

#include "author/service/jwt_assertion.h"

#include <gtest/gtest.h>

#include "author/service/health_cause.h"
#include "core/crypto/jws.h"
#include "core/crypto/x509.h"

namespace portico::author {
namespace {

nlohmann::json Payload() {
  return {{"exp", 1},
          {"iss", "0123@PorticoOrg"},
          {"sub", "abcd@techacct.portico"},
          {"aud", "http://ims.test/c/client"},
          {"http://ims.test/s/ent_portal_sdk", true}};
}

TEST(JwtPayloadTest, AcceptsTheConsolePayload) { EXPECT_TRUE(ValidateJwtPayload(Payload()).ok()); }

TEST(JwtPayloadTest, RefusesMissingOrWrongClaims) {
  for (const char* claim : {"iss", "sub", "aud", "exp"}) {
    auto p = Payload();
    p.erase(claim);
    Status st = ValidateJwtPayload(p);
    EXPECT_EQ(st.error(), "invalid_payload") << claim;
    EXPECT_NE(st.message().find(claim), std::string::npos) << st.message();
  }
  auto p = Payload();
  p["iss"] = 5;
  EXPECT_FALSE(ValidateJwtPayload(p).ok());
  p = Payload();
  p["exp"] = "tomorrow";
  EXPECT_FALSE(ValidateJwtPayload(p).ok());
  p = Payload();
  p.erase("http://ims.test/s/ent_portal_sdk");
  EXPECT_NE(ValidateJwtPayload(p).message().find("metascope"), std::string::npos);
  p = Payload();
  p["http://ims.test/s/ent_portal_sdk"] = false;
  EXPECT_FALSE(ValidateJwtPayload(p).ok());
  EXPECT_FALSE(ValidateJwtPayload(nlohmann::json::array()).ok());
}

TEST(JwtAssertionTest, FreshClaimsSignedWithTheCertificatesKey) {
  auto key = crypto::PrivateKey::GenerateRsa(2048).value();
  auto cert = crypto::Certificate::FromPem(
                  crypto::CreateSelfSignedCertificate(key, "t", std::chrono::hours(24)).value())
                  .value();
  auto a = AssertionClaims(Payload(), 1'800'000'000, "jti-1");
  auto b = AssertionClaims(Payload(), 1'800'000'060, "jti-2");
  EXPECT_EQ(a["exp"], 1'800'000'000 + kAssertionSeconds);
  EXPECT_EQ(a["iat"], 1'800'000'000);
  EXPECT_EQ(a["jti"], "jti-1");
  EXPECT_NE(a["exp"], b["exp"]);
  EXPECT_EQ(a["iss"], Payload()["iss"]);
  EXPECT_EQ(a["http://ims.test/s/ent_portal_sdk"], true);
  std::string jwt = SignAssertion(a, key).value();
  auto parsed = crypto::ParseJws(jwt).value();
  EXPECT_EQ(parsed.header["alg"], "RS256");
  EXPECT_TRUE(crypto::VerifyJws(parsed, cert.public_key()).ok());
  EXPECT_EQ(parsed.payload, a);
  auto other = crypto::PrivateKey::GenerateRsa(2048).value();
  EXPECT_FALSE(crypto::VerifyJws(parsed, other.public_key()).ok());
}

TEST(HealthCauseTest, MapsTheIdentityServicesAnswers) {
  auto cause = [](int status, const char* error, const char* description) {
    return ClassifyExchangeAnswer(status, {{"error", error}, {"error_description", description}},
                                  "http://ims")
        .cause;
  };
  EXPECT_EQ(cause(401, "invalid_client", "unknown client_id"), kCauseUnknownClient);
  EXPECT_EQ(cause(401, "invalid_client", "client_secret does not match this client"),
            kCauseWrongSecret);
  EXPECT_EQ(
      cause(400, "invalid_grant", "JWT signature does not match any certificate of this client"),
      kCauseCertificateNotRegistered);
  EXPECT_EQ(cause(400, "invalid_grant", "JWT has expired"), kCausePayloadExpired);
  EXPECT_EQ(cause(400, "invalid_grant", "JWT aud must be x"), kCausePayloadMalformed);
  EXPECT_EQ(cause(400, "invalid_scope", "JWT holds no metascope claim"), kCausePayloadMalformed);
  EXPECT_EQ(ClassifyExchangeAnswer(503, nullptr, "http://ims").cause, kCauseServerUnreachable);
  EXPECT_EQ(ClassifyExchangeAnswer(404, nullptr, "http://ims").cause, kCauseOther);
  auto ok = ClassifyExchangeAnswer(200, {{"access_token", "x"}, {"expires_in", 1}}, "http://ims");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.message, "Token is retrieved successfully");
}

}  // namespace
}  // namespace portico::author

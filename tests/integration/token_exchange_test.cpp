// The token endpoints end to end against the real binary (IMS-PROTOCOL.md): the service-account
// JWT exchange in both paths and both form encodings, the token it returns (verified against the
// JWKS, with every claim the clients read), the RFC 7523 grant on /ims/token/v3,
// client_credentials on v2 and v3, token validation, the profile, and discovery.
#include <regex>

#include "core/crypto/encoding.h"
#include "harness.h"

namespace portico::it {
namespace {

class TokenExchange : public ::testing::Test {
 protected:
  Ims& ims = SharedIms::Get();
};

// What a client of the JWT exchange reads from a successful answer.
void ExpectExchangeAnswer(Ims& ims, const Response& r, const Credential& cred,
                          const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.Get("Cache-Control").value_or(""), "no-store");
  json j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("token_type", ""), "bearer");
  // Milliseconds on this endpoint: a 24-hour token says about 86399999.
  ASSERT_TRUE(j["expires_in"].is_number_integer()) << r.body;
  const int64_t expires_in = j["expires_in"].get<int64_t>();
  EXPECT_GT(expires_in, 86'000'000) << "expires_in must be in milliseconds";
  EXPECT_LE(expires_in, 86'400'000);
  const std::string token = j.value("access_token", "");
  ASSERT_FALSE(token.empty());
  RememberSecret(token);

  json claims = ims.VerifyAccessToken(token);
  ASSERT_TRUE(claims.is_object());
  EXPECT_EQ(claims.value("iss", ""), ims.url());
  EXPECT_EQ(claims.value("type", ""), "access_token");
  EXPECT_EQ(claims.value("client_id", ""), cred.client_id);
  EXPECT_EQ(claims.value("user_id", ""), cred.technical_account_id);
  EXPECT_EQ(claims.value("sub", ""), cred.technical_account_id);
  EXPECT_EQ(claims.value("org", ""), ims.org());
  EXPECT_EQ(claims.value("scope", ""), "ent_portal_sdk");
  // created_at and expires_in are strings of milliseconds; aio-lib-ims adds them.
  ASSERT_TRUE(claims["created_at"].is_string()) << claims.dump();
  ASSERT_TRUE(claims["expires_in"].is_string()) << claims.dump();
  const std::string created_at = claims["created_at"].get<std::string>();
  ASSERT_TRUE(std::regex_match(created_at, std::regex("[0-9]{13}"))) << created_at;
  EXPECT_EQ(claims["expires_in"].get<std::string>(), "86400000");
  const int64_t created_ms = std::stoll(created_at);
  EXPECT_NEAR(static_cast<double>(created_ms) / 1000.0, static_cast<double>(NowSeconds()), 600.0)
      << "created_at is the issue time in milliseconds";
  ASSERT_TRUE(claims["exp"].is_number_integer());
  EXPECT_EQ(claims["exp"].get<int64_t>() * 1000, created_ms / 1000 * 1000 + 86'400'000);
  EXPECT_TRUE(claims["iat"].is_number_integer());
  EXPECT_TRUE(claims["jti"].is_string());
}

TEST_F(TokenExchange, BothPathsAndBothFormEncodings) {
  Credential cred = ims.CreateServiceAccount();
  for (const char* path : {"/ims/exchange/jwt", "/ims/exchange/jwt/"}) {
    for (bool multipart : {true, false}) {
      const std::string what = std::string(path) + (multipart ? " multipart" : " url-encoded");
      Response r = ims.Exchange(cred, ims.GoodAssertion(cred), path, multipart);
      ExpectExchangeAnswer(ims, r, cred, what);
    }
  }
}

TEST_F(TokenExchange, TheConsolesReadyPayloadSignedAsIsWorks) {
  // jwt_payload is what the console hands the developer to sign (exp 24 h ahead).
  Credential cred = ims.CreateServiceAccount();
  json payload = cred.created["jwt_payload"];
  ASSERT_TRUE(payload.is_object()) << cred.created.dump();
  EXPECT_EQ(payload.value("iss", ""), ims.org());
  EXPECT_EQ(payload.value("sub", ""), cred.technical_account_id);
  EXPECT_EQ(payload.value("aud", ""), ims.url() + "/c/" + cred.client_id);
  EXPECT_EQ(payload.value(ims.url() + "/s/ent_portal_sdk", false), true);
  std::string assertion = Sign(cred.signer->key, json::object(), payload);
  RememberSecret(assertion);
  ExpectExchangeAnswer(ims, ims.Exchange(cred, assertion), cred, "console jwt_payload");
}

TEST_F(TokenExchange, Es256ServiceAccountWorks) {
  Credential cred = ims.CreateServiceAccount(MakeEcKeyAndCert());
  ExpectExchangeAnswer(ims, ims.Exchange(cred, ims.GoodAssertion(cred)), cred, "ES256 assertion");
}

TEST_F(TokenExchange, KidNamingTheCertificateFingerprintWorks) {
  Credential cred = ims.CreateServiceAccount();
  json claims = ims.GoodClaims(cred);
  std::string assertion = Sign(cred.signer->key, {{"kid", cred.signer->fingerprint}}, claims);
  RememberSecret(assertion);
  ExpectExchangeAnswer(ims, ims.Exchange(cred, assertion), cred, "kid = fingerprint");
}

TEST_F(TokenExchange, JwtBearerGrantOnTokenV3) {
  Credential cred = ims.CreateServiceAccount();
  std::string assertion = ims.GoodAssertion(cred);
  Response r = ims.http().PostForm("/ims/token/v3",
                                   {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                                    {"client_id", cred.client_id},
                                    {"client_secret", cred.client_secret},
                                    {"assertion", assertion}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j.value("token_type", ""), "bearer");
  EXPECT_EQ(j.value("expires_in", 0), 86400) << "the standard endpoint answers in seconds";
  EXPECT_EQ(j.value("scope", ""), "ent_portal_sdk");
  RememberSecret(j.value("access_token", ""));
  json claims = ims.VerifyAccessToken(j.value("access_token", ""));
  EXPECT_EQ(claims.value("client_id", ""), cred.client_id);
  EXPECT_EQ(claims.value("user_id", ""), cred.technical_account_id);
}

TEST_F(TokenExchange, ClientCredentialsV2CommaSeparatedScopes) {
  Credential cred = ims.CreateOAuth();
  EXPECT_EQ(cred.type, "oauth_server_to_server");
  Response r = ims.http().PostForm("/ims/token/v2", {{"grant_type", "client_credentials"},
                                                     {"client_id", cred.client_id},
                                                     {"client_secret", cred.client_secret},
                                                     {"org_id", ims.org()},
                                                     {"scope", "openid,AdobeID,ent_portal_sdk"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j.value("token_type", ""), "bearer");
  EXPECT_EQ(j.value("expires_in", 0), 86400);
  EXPECT_EQ(j.value("scope", ""), "openid,AdobeID,ent_portal_sdk");
  RememberSecret(j.value("access_token", ""));
  json claims = ims.VerifyAccessToken(j.value("access_token", ""));
  EXPECT_EQ(claims.value("scope", ""), "openid,AdobeID,ent_portal_sdk");
  EXPECT_EQ(claims.value("client_id", ""), cred.client_id);
  EXPECT_EQ(claims.value("org", ""), ims.org());
  EXPECT_EQ(claims.value("type", ""), "access_token");
}

TEST_F(TokenExchange, ClientCredentialsV3SpaceSeparatedScopesAndBasicAuth) {
  Credential cred = ims.CreateOAuth();
  Response r = ims.http().PostForm("/ims/token/v3", {{"grant_type", "client_credentials"},
                                                     {"client_id", cred.client_id},
                                                     {"client_secret", cred.client_secret},
                                                     {"scope", "openid read_organizations"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().value("scope", ""), "openid,read_organizations");
  RememberSecret(r.Json().value("access_token", ""));
  json claims = ims.VerifyAccessToken(r.Json().value("access_token", ""));
  EXPECT_EQ(claims.value("scope", ""), "openid,read_organizations");

  // client_secret_basic, as discovery advertises.
  Response basic = ims.http().PostForm(
      "/ims/token/v3", {{"grant_type", "client_credentials"}, {"scope", "openid"}},
      {{"Authorization",
        "Basic " + crypto::Base64Encode(cred.client_id + ":" + cred.client_secret)}});
  ASSERT_EQ(basic.status, 200) << basic.body;
  EXPECT_EQ(basic.Json().value("scope", ""), "openid");
  RememberSecret(basic.Json().value("access_token", ""));

  // No scope asks for every scope the credential holds.
  Response all = ims.http().PostForm("/ims/token/v3", {{"grant_type", "client_credentials"},
                                                       {"client_id", cred.client_id},
                                                       {"client_secret", cred.client_secret}});
  ASSERT_EQ(all.status, 200) << all.body;
  RememberSecret(all.Json().value("access_token", ""));
  std::string scope = all.Json().value("scope", "");
  for (const auto& s : cred.scopes) EXPECT_NE(scope.find(s), std::string::npos) << scope;
}

TEST_F(TokenExchange, ValidateTokenGoodAndTampered) {
  Credential cred = ims.CreateServiceAccount();
  std::string token = ims.ExchangeOk(cred);
  Response ok = ims.http().PostForm("/ims/validate_token/v1",
                                    {{"type", "access_token"}, {"client_id", cred.client_id}},
                                    {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json().value("valid", false), true) << ok.body;
  EXPECT_GT(ok.Json().value("expires_at", int64_t{0}), NowSeconds() * 1000);

  // The token as a form field instead of the header.
  Response field =
      ims.http().PostForm("/ims/validate_token/v1", {{"type", "access_token"}, {"token", token}});
  ASSERT_EQ(field.status, 200) << field.body;
  EXPECT_EQ(field.Json().value("valid", false), true) << field.body;

  // Tampered: a claim changed (scope widened) with the signature kept, and a signature flipped.
  auto parts = JwsParts(token);
  json claims = json::parse(B64UrlDecode(parts[1]));
  claims["scope"] = "ent_portal_sdk,ims_admin";
  std::string forged = parts[0] + "." + B64Url(claims.dump()) + "." + parts[2];
  std::string sig = B64UrlDecode(parts[2]);
  sig[5] = static_cast<char>(sig[5] ^ 0x01);
  std::string flipped = parts[0] + "." + parts[1] + "." + B64Url(sig);
  for (const auto& [what, bad] : std::vector<std::pair<std::string, std::string>>{
           {"claims changed", forged}, {"signature flipped", flipped}}) {
    Response r = ims.http().PostForm("/ims/validate_token/v1", {{"type", "access_token"}},
                                     {{"Authorization", "Bearer " + bad}});
    ASSERT_EQ(r.status, 200) << what << ": " << r.body;
    EXPECT_EQ(r.Json().value("valid", true), false) << what << ": " << r.body;
    EXPECT_EQ(r.body.find(parts[2]), std::string::npos) << "the answer quotes the token";
    // The forged token opens nothing either.
    Response profile = ims.http().Get("/ims/profile/v1", {{"Authorization", "Bearer " + bad}});
    EXPECT_EQ(profile.status, 401) << what << ": " << profile.body;
  }

  // Another client's id: not valid for it.
  Response other = ims.http().PostForm("/ims/validate_token/v1",
                                       {{"type", "access_token"}, {"client_id", "someone-else"}},
                                       {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(other.Json().value("valid", true), false) << other.body;
}

TEST_F(TokenExchange, ProfileOfAServiceAccount) {
  Credential cred = ims.CreateServiceAccount();
  std::string token = ims.ExchangeOk(cred);
  Response r = ims.http().Get("/ims/profile/v1", {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(r.status, 200) << r.body;
  json p = r.Json();
  EXPECT_EQ(p.value("userId", ""), cred.technical_account_id);
  EXPECT_EQ(p.value("account_type", ""), "technical_account");
  EXPECT_EQ(p.value("ownerOrg", ""), ims.org());
  EXPECT_EQ(p.value("client_id", ""), cred.client_id);
  EXPECT_EQ(r.body.find(token), std::string::npos);

  Response orgs = ims.http().Get("/ims/organizations/v6", {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(orgs.status, 200) << orgs.body;
  ASSERT_TRUE(orgs.Json().is_array());
  EXPECT_EQ(orgs.Json()[0]["orgRef"].value("ident", ""), ims.org());

  Response none = ims.http().Get("/ims/profile/v1");
  ExpectOAuthError(none, 401, "invalid_token", {}, "profile without a token");
}

TEST_F(TokenExchange, OpenIdDiscoveryAndJwks) {
  Response r = ims.http().Get("/.well-known/openid-configuration");
  ASSERT_EQ(r.status, 200) << r.body;
  json d = r.Json();
  EXPECT_EQ(d.value("issuer", ""), ims.url());
  EXPECT_EQ(d.value("jwks_uri", ""), ims.url() + "/ims/keys");
  EXPECT_EQ(d.value("token_endpoint", ""), ims.url() + "/ims/token/v3");
  auto has = [&](const char* key, const std::string& v) {
    if (!d.contains(key) || !d[key].is_array()) return false;
    for (const auto& x : d[key])
      if (x == v) return true;
    return false;
  };
  EXPECT_TRUE(has("grant_types_supported", "client_credentials")) << r.body;
  EXPECT_TRUE(has("grant_types_supported", "urn:ietf:params:oauth:grant-type:jwt-bearer"));
  EXPECT_TRUE(has("token_endpoint_auth_methods_supported", "client_secret_post"));
  EXPECT_TRUE(has("id_token_signing_alg_values_supported", "ES256"));

  Response keys = ims.http().Get("/ims/keys");
  ASSERT_EQ(keys.status, 200);
  json jwks = keys.Json();
  ASSERT_TRUE(jwks["keys"].is_array() && !jwks["keys"].empty()) << keys.body;
  for (const auto& k : jwks["keys"]) {
    EXPECT_FALSE(k.value("kid", "").empty());
    EXPECT_EQ(k.value("kty", ""), "EC");
    EXPECT_FALSE(k.contains("d")) << "the JWKS publishes a private key";
    EXPECT_TRUE(crypto::PublicKey::FromJwk(k).ok()) << k.dump();
  }
}

}  // namespace
}  // namespace portico::it

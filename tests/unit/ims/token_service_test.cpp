#include "ims/service/token_service.h"

#include "core/crypto/encoding.h"
#include "ims_fixture.h"

namespace portico::ims {
namespace {

using nlohmann::json;

class TokenServiceTest : public ImsFixture {};

TEST_F(TokenServiceTest, ExchangeIssuesAnAccessTokenWithTheClaimsClientsRead) {
  auto t = Exchange(GoodClaims());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->expires_in_seconds, 86400);
  EXPECT_GT(t->expires_in_ms, 86'390'000);
  EXPECT_LE(t->expires_in_ms, 86'400'000);
  auto v = tokens_->VerifyAccessToken(t->access_token);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const json& c = v->claims;
  EXPECT_EQ(c["type"], "access_token");
  EXPECT_EQ(c["iss"], "http://ims.test");
  EXPECT_EQ(c["client_id"], cred_.client_id);
  EXPECT_EQ(c["user_id"], cred_.technical_account_id);
  EXPECT_EQ(c["org"], org_);
  EXPECT_EQ(c["scope"], "ent_portal_sdk");
  EXPECT_EQ(c["created_at"], std::to_string(clock_.NowMillis()));
  EXPECT_EQ(c["expires_in"], "86400000");
  EXPECT_EQ(c["exp"].get<int64_t>() - c["iat"].get<int64_t>(), 86400);
}

struct BadClaim {
  const char* name;
  std::function<void(json&, int64_t now)> mutate;
  const char* error;
  const char* message_part;
};

TEST_F(TokenServiceTest, EachBadClaimIsRefusedWithItsReason) {
  const std::string scope_key = "http://ims.test/s/ent_portal_sdk";
  std::vector<BadClaim> cases = {
      {"expired", [](json& c, int64_t now) { c["exp"] = now - 120; }, "invalid_grant", "expired"},
      {"no exp", [](json& c, int64_t) { c.erase("exp"); }, "invalid_grant", "no exp"},
      {"exp as text", [](json& c, int64_t now) { c["exp"] = std::to_string(now + 60); },
       "invalid_grant", "number"},
      {"exp a year ahead", [](json& c, int64_t now) { c["exp"] = now + 365 * 86400; },
       "invalid_grant", "too far"},
      {"not yet valid", [](json& c, int64_t now) { c["nbf"] = now + 3600; }, "invalid_grant",
       "not yet valid"},
      {"iat in the future", [](json& c, int64_t now) { c["iat"] = now + 3600; }, "invalid_grant",
       "iat"},
      {"wrong aud", [](json& c, int64_t) { c["aud"] = "http://ims.test/c/someone-else"; },
       "invalid_grant", "aud"},
      {"aud of another service",
       [](json& c, int64_t) { c["aud"] = "https://ims-na1.example.com/c/x"; }, "invalid_grant",
       "aud"},
      {"wrong iss", [](json& c, int64_t) { c["iss"] = "OTHER@PorticoOrg"; }, "invalid_grant",
       "iss"},
      {"wrong sub", [](json& c, int64_t) { c["sub"] = "OTHER@techacct.portico"; }, "invalid_grant",
       "sub"},
      {"no metascope", [scope_key](json& c, int64_t) { c.erase(scope_key); }, "invalid_scope",
       "no metascope"},
      {"metascope not held",
       [](json& c, int64_t) { c["http://ims.test/s/ent_analytics_bulk_ingest_sdk"] = true; },
       "invalid_scope", "does not hold"},
      {"metascope false", [scope_key](json& c, int64_t) { c[scope_key] = false; }, "invalid_scope",
       "true"},
      {"metascope of another service",
       [](json& c, int64_t) { c["https://ims-na1.example.com/s/ent_portal_sdk"] = true; },
       "invalid_scope", "another identity service"},
      {"jti not a string", [](json& c, int64_t) { c["jti"] = 42; }, "invalid_grant", "jti"},
  };
  for (const auto& bad : cases) {
    json claims = GoodClaims();
    bad.mutate(claims, clock_.NowSeconds());
    auto t = Exchange(claims);
    ASSERT_FALSE(t.ok()) << bad.name;
    EXPECT_EQ(t.status().error(), bad.error) << bad.name << ": " << t.status().ToString();
    EXPECT_NE(t.status().message().find(bad.message_part), std::string::npos)
        << bad.name << ": " << t.status().message();
    EXPECT_EQ(t.status().message().find(secret_), std::string::npos);
  }
  // Nothing changed: the good assertion still works.
  EXPECT_TRUE(Exchange(GoodClaims()).ok());
}

TEST_F(TokenServiceTest, ClockSkewIsTolerated) {
  json claims = GoodClaims();
  claims["exp"] = clock_.NowSeconds() - 30;
  claims["iat"] = clock_.NowSeconds() + 30;
  EXPECT_TRUE(Exchange(claims).ok());
}

TEST_F(TokenServiceTest, ReplayedJtiIsRefusedUntilItExpires) {
  json claims = GoodClaims();
  claims["jti"] = "once";
  std::string assertion = Sign(claims, *key_);
  EXPECT_TRUE(tokens_->ExchangeJwt(cred_.client_id, secret_, assertion).ok());
  auto again = tokens_->ExchangeJwt(cred_.client_id, secret_, assertion);
  EXPECT_EQ(ErrorOf(again), "invalid_grant");
  EXPECT_NE(again.status().message().find("already been used"), std::string::npos);
  // A different jti is fine.
  claims["jti"] = "twice";
  EXPECT_TRUE(Exchange(claims).ok());
}

TEST_F(TokenServiceTest, ClientAuthenticationFailures) {
  std::string a = Sign(GoodClaims(), *key_);
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, "pcs-wrong", a)), "invalid_client");
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt("0123456789abcdef", secret_, a)), "invalid_client");
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt("", secret_, a)), "invalid_request");
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, "", a)), "invalid_request");
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_, "")), "invalid_request");
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_, std::string(17000, 'a'))),
            "invalid_request");
  // An OAuth client cannot use the JWT exchange.
  auto oauth = console_->CreateOAuth(org_, "brand", "");
  ASSERT_TRUE(oauth.ok());
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(oauth->credential.client_id, oauth->client_secret, a)),
            "invalid_client");
}

TEST_F(TokenServiceTest, SignatureMustComeFromARegisteredCertificate) {
  auto stranger = crypto::PrivateKey::GenerateRsa(2048).value();
  auto t = tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(GoodClaims(), stranger));
  EXPECT_EQ(ErrorOf(t), "invalid_grant");
  EXPECT_NE(t.status().message().find("does not match any certificate"), std::string::npos);
  // A kid naming no certificate of this client.
  t = tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(GoodClaims(), *key_, {{"kid", "nope"}}));
  EXPECT_EQ(ErrorOf(t), "invalid_grant");
  // A kid naming the certificate's fingerprint is accepted.
  t = tokens_->ExchangeJwt(cred_.client_id, secret_,
                           Sign(GoodClaims(), *key_, {{"kid", cred_.certificates[0].fingerprint}}));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
}

TEST_F(TokenServiceTest, ForgedAlgorithmsAreRefused) {
  std::string good = Sign(GoodClaims(), *key_);
  std::string payload = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  for (const char* alg : {"none", "None", "NONE", "nOnE", "HS256"}) {
    std::string header = crypto::Base64UrlEncode(json{{"alg", alg}, {"typ", "JWT"}}.dump());
    auto t = tokens_->ExchangeJwt(cred_.client_id, secret_, header + "." + payload + "." + "c2ln");
    EXPECT_EQ(ErrorOf(t), "invalid_grant") << alg;
  }
  // The signature cut short, or with a byte flipped.
  EXPECT_EQ(
      ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_, good.substr(0, good.size() - 10))),
      "invalid_grant");
  std::string flipped = good;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_, flipped)), "invalid_grant");
  // Keys offered by the token itself are never trusted.
  for (const char* h : {"jku", "x5u", "jwk", "x5c"}) {
    EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_,
                                           Sign(GoodClaims(), *key_, {{h, "http://evil"}}))),
              "invalid_grant")
        << h;
  }
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_,
                                         Sign(GoodClaims(), *key_, {{"crit", {"exp"}}}))),
            "invalid_grant");
}

TEST_F(TokenServiceTest, EcCertificatesSignES256AndZeroSignaturesAreRefused) {
  auto ec = crypto::PrivateKey::GenerateEcP256().value();
  auto created = console_->CreateServiceAccount(org_, "brand", Cert(ec), "ec");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const auto& c = created->credential;
  json claims = {{"exp", clock_.NowSeconds() + 300},
                 {"iss", org_},
                 {"sub", c.technical_account_id},
                 {"aud", "http://ims.test/c/" + c.client_id},
                 {"http://ims.test/s/ent_portal_sdk", true}};
  std::string good = Sign(claims, ec);
  EXPECT_TRUE(tokens_->ExchangeJwt(c.client_id, created->client_secret, good).ok());
  std::string prefix = good.substr(0, good.rfind('.') + 1);
  std::string zeros = crypto::Base64UrlEncode(std::string(64, '\0'));
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(c.client_id, created->client_secret, prefix + zeros)),
            "invalid_grant");
  std::string sig = crypto::Base64UrlDecode(good.substr(good.rfind('.') + 1)).value();
  std::string r_zero = std::string(32, '\0') + sig.substr(32);
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(c.client_id, created->client_secret,
                                         prefix + crypto::Base64UrlEncode(r_zero))),
            "invalid_grant");
  std::string s_zero = sig.substr(0, 32) + std::string(32, '\0');
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(c.client_id, created->client_secret,
                                         prefix + crypto::Base64UrlEncode(s_zero))),
            "invalid_grant");
}

TEST_F(TokenServiceTest, RotatedOutCertificateAndDeletedCredentialAreRefused) {
  auto next = crypto::PrivateKey::GenerateRsa(2048).value();
  auto with_two = console_->AddCertificate(org_, cred_.client_id, Cert(next));
  ASSERT_TRUE(with_two.ok()) << with_two.status().ToString();
  // Both keys work while both certificates are registered.
  EXPECT_TRUE(Exchange(GoodClaims()).ok());
  EXPECT_TRUE(tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(GoodClaims(), next)).ok());
  ASSERT_TRUE(
      console_->RemoveCertificate(org_, cred_.client_id, cred_.certificates[0].fingerprint).ok());
  EXPECT_EQ(ErrorOf(Exchange(GoodClaims())), "invalid_grant");
  auto t = tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(GoodClaims(), next));
  ASSERT_TRUE(t.ok());
  // Deleting the credential refuses its exchanges and invalidates its tokens.
  ASSERT_TRUE(console_->DeleteCredential(org_, cred_.client_id).ok());
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(GoodClaims(), next))),
            "invalid_client");
  EXPECT_EQ(ErrorOf(tokens_->VerifyAccessToken(t->access_token)), "invalid_token");
}

TEST_F(TokenServiceTest, ChangesByAnotherReplicaAreSeenWithinTheCacheTime) {
  // Another replica: its own store and console on the same database.
  auto other_store = ImsStore::Open(*db_).value();
  ConsoleService other_console(*other_store, clock_, settings_);
  ASSERT_TRUE(Exchange(GoodClaims()).ok());  // the credential is now cached here
  auto rotated = other_console.RotateSecret(org_, cred_.client_id);
  ASSERT_TRUE(rotated.ok());
  // Within the cache time this replica still knows the old secret only...
  EXPECT_TRUE(Exchange(GoodClaims()).ok());
  clock_.Advance(std::chrono::milliseconds(settings_.credential_cache_ms));
  // ...and afterwards it reads the credential again: the old secret is refused, the new works.
  EXPECT_EQ(ErrorOf(Exchange(GoodClaims())), "invalid_client");
  EXPECT_TRUE(tokens_->ExchangeJwt(cred_.client_id, *rotated, Sign(GoodClaims(), *key_)).ok());
}

TEST_F(TokenServiceTest, ClientCredentialsScopes) {
  auto oauth = console_->CreateOAuth(org_, "brand", "s2s");
  ASSERT_TRUE(oauth.ok());
  const std::string id = oauth->credential.client_id, secret = oauth->client_secret;
  auto t = tokens_->ClientCredentials(id, secret, "openid,AdobeID,ent_portal_sdk", std::nullopt);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->scopes, (std::vector<std::string>{"openid", "AdobeID", "ent_portal_sdk"}));
  t = tokens_->ClientCredentials(id, secret, "openid ent_portal_sdk", std::nullopt);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scopes.size(), 2u);
  t = tokens_->ClientCredentials(id, secret, "", std::nullopt);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->scopes, oauth->credential.scopes);
  EXPECT_EQ(
      ErrorOf(tokens_->ClientCredentials(id, secret, "openid,admin_everything", std::nullopt)),
      "invalid_scope");
  EXPECT_EQ(ErrorOf(tokens_->ClientCredentials(id, "pcs-wrong", "openid", std::nullopt)),
            "invalid_client");
  EXPECT_EQ(ErrorOf(tokens_->ClientCredentials(id, secret, "openid",
                                               std::string_view("OTHER@PorticoOrg"))),
            "invalid_client");
  EXPECT_TRUE(tokens_->ClientCredentials(id, secret, "openid", std::string_view(org_)).ok());
  // A service account cannot use client_credentials.
  EXPECT_EQ(ErrorOf(tokens_->ClientCredentials(cred_.client_id, secret_, "", std::nullopt)),
            "invalid_client");
}

TEST_F(TokenServiceTest, AccessTokensExpireAndMustComeFromThisService) {
  auto t = Exchange(GoodClaims());
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(tokens_->VerifyAccessToken(t->access_token).ok());
  clock_.Advance(std::chrono::hours(25));
  EXPECT_EQ(ErrorOf(tokens_->VerifyAccessToken(t->access_token)), "invalid_token");
  // A token signed by a key this service never published.
  auto other = crypto::PrivateKey::GenerateEcP256().value();
  std::string forged = Sign(
      {{"iss", "http://ims.test"}, {"type", "access_token"}, {"exp", clock_.NowSeconds() + 60}},
      other, {{"kid", keys_->active_kid()}});
  EXPECT_EQ(ErrorOf(tokens_->VerifyAccessToken(forged)), "invalid_token");
}

TEST(SplitScopesTest, CommasAndSpaces) {
  EXPECT_EQ(SplitScopes("a,b c,,a  d"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(SplitScopes("").empty());
}

}  // namespace
}  // namespace portico::ims

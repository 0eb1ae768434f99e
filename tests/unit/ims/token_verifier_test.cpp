// TokenVerifier against a real identity service on loopback: the JWKS is fetched over HTTP.
#include "ims/client/token_verifier.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../store/temp_directory.h"
#include "ims/client/ims_client.h"
#include "ims/ims_service.h"

namespace portico::ims {
namespace {

using TempDir = store::testing::TempDirectory;

constexpr char kLogin[] = "admin@acme.test";
constexpr char kPassword[] = "correct horse battery";

class TokenVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    svc_ = Start(dir_);
    auto boot = svc_->admin().EnsureOrgAdmin("Acme", kLogin, kPassword, "system_admin");
    ASSERT_TRUE(boot.ok()) << boot.status().ToString();
    org_ = boot->org.id;
  }

  static std::unique_ptr<ImsService> Start(const TempDir& dir) {
    ImsOptions o{.data_dir = dir.path(), .port = 0, .handler_threads = 2, .access_log = false};
    auto svc = ImsService::Start(o);
    if (!svc.ok()) ADD_FAILURE() << svc.status().ToString();
    return svc.ok() ? std::move(*svc) : nullptr;
  }

  std::string AdminToken(ImsService& svc, const std::string& login = kLogin) {
    auto r = svc.admin().Login(login, kPassword, "127.0.0.1");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->token.access_token : "";
  }

  TokenVerifier Verifier(const Clock* clock = nullptr,
                         std::chrono::seconds cache_ttl = std::chrono::seconds(300),
                         size_t cache_entries = 10'000) {
    return TokenVerifier({.issuer = svc_->url(),
                          .clock = clock,
                          .min_refetch_interval = std::chrono::seconds(0),
                          .verified_cache_ttl = cache_ttl,
                          .verified_cache_entries = cache_entries});
  }

  TempDir dir_;
  std::unique_ptr<ImsService> svc_;
  std::string org_;
};

TEST_F(TokenVerifierTest, VerifiesAnAdminTokenAndItsRequirements) {
  TokenVerifier v = Verifier();
  std::string token = AdminToken(*svc_);
  auto claims = v.Verify(token, {.org = org_, .scope = std::string("ims_admin")});
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->org, org_);
  EXPECT_EQ(claims->account_type, "user");
  EXPECT_TRUE(claims->HasScope("ims_admin"));

  auto other_org = v.Verify(token, {.org = std::string("ffffffffffffffffffffffff@PorticoOrg")});
  EXPECT_EQ(other_org.status().error(), "wrong_org");
  EXPECT_EQ(other_org.status().code(), Code::kPermissionDenied);
  auto no_scope = v.Verify(token, {.scope = std::string("ent_portal_sdk")});
  EXPECT_EQ(no_scope.status().error(), "insufficient_scope");
}

TEST_F(TokenVerifierTest, VerifiesAServiceTokenWithThePortalScope) {
  ASSERT_TRUE(svc_->console().CreateProject(org_, "brand").ok());
  ASSERT_TRUE(svc_->console().AddApi(org_, "brand", "portal").ok());
  auto cred = svc_->console().CreateOAuth(org_, "brand", "");
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  auto issued = svc_->tokens().ClientCredentials(cred->credential.client_id, cred->client_secret,
                                                 "", std::nullopt);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  TokenVerifier v = Verifier();
  auto claims =
      v.Verify(issued->access_token, {.org = org_, .scope = std::string("ent_portal_sdk")});
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->account_type, "technical_account");
  EXPECT_EQ(claims->client_id, cred->credential.client_id);
}

TEST_F(TokenVerifierTest, RefusesTamperedForeignAndMalformedTokens) {
  TokenVerifier v = Verifier();
  std::string token = AdminToken(*svc_);
  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {tampered, std::string(), std::string("a.b.c"),
                                 std::string(20000, 'x'), token.substr(0, token.rfind('.'))}) {
    auto r = v.Verify(bad);
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
    EXPECT_EQ(r.status().error(), "invalid_token");
  }
  // A token of another identity service (another key and issuer) is refused.
  TempDir other_dir;
  auto other = Start(other_dir);
  ASSERT_TRUE(other->admin().EnsureOrgAdmin("Other", "o@o.test", kPassword).ok());
  auto foreign = v.Verify(AdminToken(*other, "o@o.test"));
  EXPECT_EQ(foreign.status().error(), "invalid_token");
}

TEST_F(TokenVerifierTest, RefusesExpiredTokens) {
  FakeClock clock(SystemClock().NowSeconds());
  TokenVerifier v = Verifier(&clock);
  std::string token = AdminToken(*svc_);
  ASSERT_TRUE(v.Verify(token).ok());
  clock.Advance(std::chrono::hours(13));  // admin tokens live 12 h
  EXPECT_EQ(v.Verify(token).status().error(), "invalid_token");
}

TEST_F(TokenVerifierTest, RemembersAVerifiedTokenUntilItsExpiryOnly) {
  FakeClock clock(SystemClock().NowSeconds());
  TokenVerifier v = Verifier(&clock, std::chrono::hours(48));  // the expiry alone bounds it
  std::string token = AdminToken(*svc_);
  auto first = v.Verify(token);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = v.Verify(token);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->org, first->org);
  EXPECT_EQ(again->expires_at, first->expires_at);
  EXPECT_EQ(again->scopes, first->scopes);
  EXPECT_EQ(v.CacheStats().misses, 1u);
  EXPECT_EQ(v.CacheStats().hits, 1u);
  EXPECT_EQ(v.CacheStats().entries, 1u);

  // One second before exp it is still served from the cache; at exp it is refused (no leeway).
  clock.SetSeconds(first->expires_at - 1);
  EXPECT_TRUE(v.Verify(token).ok());
  EXPECT_EQ(v.CacheStats().hits, 2u);
  clock.SetSeconds(first->expires_at);
  auto expired = v.Verify(token);
  EXPECT_EQ(expired.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(expired.status().error(), "invalid_token");
  EXPECT_EQ(v.CacheStats().hits, 2u);
  EXPECT_EQ(v.CacheStats().entries, 0u);  // the expired entry is gone, not re-remembered
}

TEST_F(TokenVerifierTest, RemembersATokenAtMostForTheCacheTtl) {
  FakeClock clock(SystemClock().NowSeconds());
  TokenVerifier v = Verifier(&clock, std::chrono::seconds(300));
  std::string token = AdminToken(*svc_);
  ASSERT_TRUE(v.Verify(token).ok());
  clock.Advance(std::chrono::seconds(299));
  ASSERT_TRUE(v.Verify(token).ok());
  EXPECT_EQ(v.CacheStats().hits, 1u);
  clock.Advance(std::chrono::seconds(1));  // 300 s after it was verified: verified again
  ASSERT_TRUE(v.Verify(token).ok());
  EXPECT_EQ(v.CacheStats().hits, 1u);
  EXPECT_EQ(v.CacheStats().misses, 2u);
}

TEST_F(TokenVerifierTest, ChecksRequirementsOnEveryCallFromTheCache) {
  TokenVerifier v = Verifier();
  std::string token = AdminToken(*svc_);
  ASSERT_TRUE(v.Verify(token).ok());  // remembered without requirements
  for (int i = 0; i < 2; ++i) {
    auto other_org = v.Verify(token, {.org = std::string("ffffffffffffffffffffffff@PorticoOrg")});
    EXPECT_EQ(other_org.status().error(), "wrong_org");
    EXPECT_EQ(other_org.status().code(), Code::kPermissionDenied);
    auto no_scope = v.Verify(token, {.scope = std::string("ent_portal_sdk")});
    EXPECT_EQ(no_scope.status().error(), "insufficient_scope");
    EXPECT_TRUE(v.Verify(token, {.org = org_, .scope = std::string("ims_admin")}).ok());
  }
  EXPECT_EQ(v.CacheStats().misses, 1u);
  EXPECT_EQ(v.CacheStats().hits, 6u);
}

TEST_F(TokenVerifierTest, NeverServesATamperedTokenFromTheCache) {
  TokenVerifier v = Verifier();
  std::string token = AdminToken(*svc_);
  ASSERT_TRUE(v.Verify(token).ok());
  // One byte flipped in each part (header, payload, signature), and one byte appended.
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  for (size_t at : {dot1 / 2, (dot1 + dot2) / 2, (dot2 + token.size()) / 2}) {
    std::string tampered = token;
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    auto r = v.Verify(tampered);
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << at;
    EXPECT_EQ(r.status().error(), "invalid_token") << at;
  }
  EXPECT_EQ(v.Verify(token + "A").status().error(), "invalid_token");
  EXPECT_EQ(v.CacheStats().hits, 0u);
  EXPECT_EQ(v.CacheStats().entries, 1u);  // refused tokens are not remembered
  EXPECT_TRUE(v.Verify(token).ok());
  EXPECT_EQ(v.CacheStats().hits, 1u);
}

TEST_F(TokenVerifierTest, KeepsTheCacheWithinItsBound) {
  TokenVerifier v = Verifier(nullptr, std::chrono::seconds(300), /*cache_entries=*/3);
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    tokens.push_back(AdminToken(*svc_));
    ASSERT_TRUE(v.Verify(tokens.back()).ok());
    EXPECT_LE(v.CacheStats().entries, 3u);
  }
  for (const auto& t : tokens) EXPECT_TRUE(v.Verify(t).ok());  // evicted ones verify again
  EXPECT_EQ(v.CacheStats().entries, 3u);

  TokenVerifier off = Verifier(nullptr, std::chrono::seconds(300), /*cache_entries=*/0);
  ASSERT_TRUE(off.Verify(tokens[0]).ok());
  ASSERT_TRUE(off.Verify(tokens[0]).ok());
  EXPECT_EQ(off.CacheStats().entries, 0u);
  EXPECT_EQ(off.CacheStats().hits, 0u);
}

TEST_F(TokenVerifierTest, PicksUpRotatedKeysAndSurvivesAnOutage) {
  TokenVerifier v = Verifier();
  std::string before = AdminToken(*svc_);
  ASSERT_TRUE(v.Verify(before).ok());
  ImsClient client(svc_->url());
  client.SetToken(before);
  auto rotated = client.RotateSigningKey();
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  std::string after = AdminToken(*svc_);
  ASSERT_NE(before, after);
  EXPECT_TRUE(v.Verify(after).ok());   // unknown kid: one refetch finds it
  EXPECT_TRUE(v.Verify(before).ok());  // the retired key stays published

  svc_->Stop();
  EXPECT_TRUE(v.Verify(after).ok());  // cached keys keep working while the service is down
  TokenVerifier cold({.issuer = svc_->url()});
  auto r = cold.Verify(after);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace portico::ims

#include "ims/service/key_ring.h"

#include "ims_fixture.h"

namespace portico::ims {
namespace {

class KeyRingTest : public ImsFixture {};

TEST_F(KeyRingTest, RotationKeepsTheOldKeyPublishedUntilItsTokensExpire) {
  auto before = Exchange(GoodClaims());
  ASSERT_TRUE(before.ok());
  std::string old_kid = keys_->active_kid();
  ASSERT_TRUE(keys_->Rotate().ok());
  EXPECT_NE(keys_->active_kid(), old_kid);
  auto jwks = nlohmann::json::parse(keys_->JwksJson());
  EXPECT_EQ(jwks["keys"].size(), 2u);
  // Tokens of the old key still verify; new tokens use the new key.
  EXPECT_TRUE(tokens_->VerifyAccessToken(before->access_token).ok());
  auto after = Exchange(GoodClaims());
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->access_token.find('.'), std::string::npos);
  // Once every token of the old key has expired, it leaves the JWKS at the next rotation.
  clock_.Advance(std::chrono::hours(25));
  ASSERT_TRUE(keys_->Rotate().ok());
  jwks = nlohmann::json::parse(keys_->JwksJson());
  for (const auto& k : jwks["keys"]) EXPECT_NE(k["kid"], old_kid);
}

TEST_F(KeyRingTest, PrivateKeysAreSealedAndSurviveARestart) {
  auto records = store_->ListSigningKeys().value();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sealed_private_key.find("PRIVATE KEY"), std::string::npos);
  auto t = Exchange(GoodClaims());
  ASSERT_TRUE(t.ok());
  auto reloaded = KeyRing::Load(*store_, box_, clock_, 86400);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->active_kid(), keys_->active_kid());
  EXPECT_TRUE((*reloaded)->Verify(t->access_token).ok());
  // Another master key cannot open them.
  crypto::SecretBox wrong(std::string(32, 'w'));
  EXPECT_FALSE(KeyRing::Load(*store_, wrong, clock_, 86400).ok());
}

}  // namespace
}  // namespace portico::ims

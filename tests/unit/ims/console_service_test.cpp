#include "ims/service/console_service.h"

#include "core/crypto/sha256.h"
#include "ims_fixture.h"

namespace portico::ims {
namespace {

class ConsoleServiceTest : public ImsFixture {};

TEST_F(ConsoleServiceTest, CredentialCarriesEverythingTheAuthorNeeds) {
  EXPECT_EQ(cred_.type, "service_account");
  EXPECT_EQ(cred_.org_id, org_);
  EXPECT_EQ(cred_.scopes, std::vector<std::string>{"ent_portal_sdk"});
  EXPECT_EQ(cred_.certificates.size(), 1u);
  EXPECT_EQ(secret_.rfind("pcs-", 0), 0u);
  auto payload = console_->JwtPayload(cred_);
  EXPECT_EQ(payload["iss"], org_);
  EXPECT_EQ(payload["sub"], cred_.technical_account_id);
  EXPECT_EQ(payload["aud"], "http://ims.test/c/" + cred_.client_id);
  EXPECT_EQ(payload["http://ims.test/s/ent_portal_sdk"], true);
  EXPECT_EQ(payload["exp"].get<int64_t>(), clock_.NowSeconds() + 86400);
  // The ready payload, signed as is, is accepted by the exchange.
  EXPECT_TRUE(tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(payload, *key_)).ok());
}

TEST_F(ConsoleServiceTest, SecretsAreStoredHashedAndRotate) {
  auto stored = store_->GetCredential(cred_.client_id).value();
  EXPECT_EQ(stored.secret_hash, crypto::Sha256Hex(secret_));
  EXPECT_EQ(stored.secret_hash.find(secret_), std::string::npos);
  auto fresh = console_->RotateSecret(org_, cred_.client_id);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(*fresh, secret_);
  EXPECT_EQ(ErrorOf(tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(GoodClaims(), *key_))),
            "invalid_client");
  EXPECT_TRUE(tokens_->ExchangeJwt(cred_.client_id, *fresh, Sign(GoodClaims(), *key_)).ok());
}

TEST_F(ConsoleServiceTest, AnotherOrgsIdsLookAbsent) {
  auto other = admin_->EnsureOrgAdmin("Other", "admin@other.test", "another long password");
  ASSERT_TRUE(other.ok());
  const std::string other_org = other->org.id;
  EXPECT_EQ(console_->GetCredential(other_org, cred_.client_id).status().code(), Code::kNotFound);
  EXPECT_EQ(console_->DeleteCredential(other_org, cred_.client_id).code(), Code::kNotFound);
  EXPECT_EQ(console_->RotateSecret(other_org, cred_.client_id).status().code(), Code::kNotFound);
  EXPECT_EQ(console_->GetProject(other_org, "brand").status().code(), Code::kNotFound);
  EXPECT_TRUE(console_->ListCredentials(other_org, std::nullopt)->empty());
  // Untouched.
  EXPECT_TRUE(console_->GetCredential(org_, cred_.client_id).ok());
}

TEST_F(ConsoleServiceTest, ProjectRules) {
  EXPECT_EQ(console_->CreateProject(org_, "brand").status().code(), Code::kConflict);
  EXPECT_EQ(console_->CreateProject(org_, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(console_->CreateProject(org_, std::string(101, 'x')).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(console_->CreateProject(org_, "tab\there").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(console_->CreateProject(org_, "bare").ok());
  auto no_api = console_->CreateOAuth(org_, "bare", "");
  EXPECT_EQ(no_api.status().code(), Code::kInvalidArgument);
  EXPECT_NE(no_api.status().message().find("add the portal API"), std::string::npos);
  EXPECT_EQ(console_->AddApi(org_, "bare", "photoshop").status().code(), Code::kInvalidArgument);
  // Deleting a project deletes its credentials.
  ASSERT_TRUE(console_->DeleteProject(org_, "brand").ok());
  EXPECT_EQ(console_->GetCredential(org_, cred_.client_id).status().code(), Code::kNotFound);
}

TEST_F(ConsoleServiceTest, CertificateRules) {
  EXPECT_EQ(console_->CreateServiceAccount(org_, "brand", "not a certificate", "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      console_->CreateServiceAccount(org_, "brand", std::string(20000, 'A'), "").status().code(),
      Code::kInvalidArgument);
  auto second = crypto::PrivateKey::GenerateRsa(2048).value();
  ASSERT_TRUE(console_->AddCertificate(org_, cred_.client_id, Cert(second)).ok());
  auto third = crypto::PrivateKey::GenerateEcP256().value();
  EXPECT_EQ(console_->AddCertificate(org_, cred_.client_id, Cert(third)).status().code(),
            Code::kConflict);
  auto c = console_->GetCredential(org_, cred_.client_id).value();
  ASSERT_TRUE(
      console_->RemoveCertificate(org_, cred_.client_id, c.certificates[0].fingerprint).ok());
  // The last certificate stays.
  EXPECT_EQ(console_->RemoveCertificate(org_, cred_.client_id, c.certificates[1].fingerprint)
                .status()
                .code(),
            Code::kConflict);
  EXPECT_EQ(console_->RemoveCertificate(org_, cred_.client_id, "00").status().code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace portico::ims

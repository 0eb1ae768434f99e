// The IMS configuration and check health, against a real in-process identity service.
#include <gtest/gtest.h>

#include "author/service/ims_integration_service.h"
#include "author/store/author_store.h"
#include "author_fixture.h"
#include "core/crypto/x509.h"
#include "ims/client/token_verifier.h"
#include "store/sqlite_database.h"

namespace portico::author::testing {
namespace {

using nlohmann::json;

class ImsIntegrationTest : public AuthorFixture {
 protected:
  // Creates the configuration, registers its certificate at the identity service and fills the
  // account: a healthy configuration.
  ImsHarness::Credential Configure(bool create = true) {
    if (create) {
      EXPECT_TRUE(client_->CreateImsConfig("brand-portal").ok());
    }
    auto pem = client_->GetCertificatePem();
    EXPECT_TRUE(pem.ok());
    auto cred = ims_.CreateCredential(*pem);
    auto account = client_->SetImsAccount({{"title", "Brand portal"},
                                           {"authorization_server", ims_.ims_->url()},
                                           {"client_id", cred.client_id},
                                           {"client_secret", cred.client_secret},
                                           {"jwt_payload", cred.jwt_payload}});
    EXPECT_TRUE(account.ok()) << account.status().ToString();
    return cred;
  }
  json Health() {
    auto h = client_->CheckHealth();
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : json();
  }
  Status SetSecret(const ImsHarness::Credential& cred, const std::string& id,
                   const std::string& secret) {
    return client_
        ->SetImsAccount({{"authorization_server", ims_.ims_->url()},
                         {"client_id", id},
                         {"client_secret", secret},
                         {"jwt_payload", cred.jwt_payload}})
        .status();
  }
};

TEST_F(ImsIntegrationTest, OnlyOneConfiguration) {
  auto first = client_->CreateImsConfig("one");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = client_->CreateImsConfig("two");
  EXPECT_EQ(second.status().code(), Code::kConflict);
  EXPECT_EQ(second.status().error(), "ims_config_exists");
  EXPECT_NE(second.status().message().find("one"), std::string::npos);
  EXPECT_EQ(client_->CreateImsConfig("x", "sites").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(client_->DeleteImsConfig().ok());
  EXPECT_TRUE(client_->CreateImsConfig("two").ok());
}

TEST_F(ImsIntegrationTest, CertificateIsServedAndThePrivateKeyNever) {
  auto created = client_->CreateImsConfig("brand-portal");
  ASSERT_TRUE(created.ok());
  auto pem = client_->GetCertificatePem();
  ASSERT_TRUE(pem.ok());
  auto cert = crypto::Certificate::FromPem(*pem);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->fingerprint_sha256(), (*created)["certificate"]["fingerprint_sha256"]);
  EXPECT_EQ(cert->subject(), "CN=brand-portal");
  auto cred = Configure(/*create=*/false);
  for (const auto& doc : {*created, *client_->GetImsConfig(), Health()}) {
    std::string text = doc.dump();
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(text.find(cred.client_secret), std::string::npos);
    EXPECT_EQ(text.find("private"), std::string::npos);
  }
  // At rest: the database holds neither the key nor the secret in clear.
  auto db = store::OpenSqlite({.path = dir_.path() / "author" / "author.db"});
  ASSERT_TRUE(db.ok());
  auto row = (*db)->Execute("SELECT * FROM ims_config");
  ASSERT_TRUE(row.ok());
  ASSERT_EQ(row->size(), 1u);
  for (size_t i = 0; i < (*row)[0].size(); ++i) {
    const auto& v = (*row)[0].value(i).variant();
    std::string bytes;
    if (auto* s = std::get_if<std::string>(&v)) bytes = *s;
    if (auto* b = std::get_if<store::SqlBlob>(&v)) bytes = b->bytes;
    EXPECT_EQ(bytes.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(bytes.find(cred.client_secret), std::string::npos);
  }
}

TEST_F(ImsIntegrationTest, HealthIsOkWhenEverythingIsRegistered) {
  Configure();
  json h = Health();
  EXPECT_EQ(h["ok"], true) << h.dump();
  EXPECT_EQ(h["message"], "Token is retrieved successfully");
  // Each check signs a fresh assertion: a second one is not a replay.
  EXPECT_EQ(Health()["ok"], true);
  // And the token provider hands out a token of the org with the portal scope.
  auto token = author_->ims().tokens().Get();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ims::TokenVerifier v({.issuer = ims_.ims_->url()});
  auto claims = v.Verify(*token, {.org = ims_.org_, .scope = std::string("ent_portal_sdk")});
  EXPECT_TRUE(claims.ok()) << claims.status().ToString();
}

TEST_F(ImsIntegrationTest, HealthNamesEachCause) {
  auto cred = Configure();
  ASSERT_TRUE(SetSecret(cred, cred.client_id, "pcs-wrong").ok());
  json h = Health();
  EXPECT_EQ(h["ok"], false);
  EXPECT_EQ(h["cause"], "wrong_secret") << h.dump();

  ASSERT_TRUE(SetSecret(cred, "0123456789abcdef0123456789abcdef", cred.client_secret).ok());
  EXPECT_EQ(Health()["cause"], "unknown_client");

  ASSERT_TRUE(SetSecret(cred, cred.client_id, cred.client_secret).ok());
  EXPECT_EQ(Health()["ok"], true);
  json payload = cred.jwt_payload;
  payload["aud"] = "http://elsewhere/c/x";
  ASSERT_TRUE(client_
                  ->SetImsAccount({{"authorization_server", ims_.ims_->url()},
                                   {"client_id", cred.client_id},
                                   {"client_secret", cred.client_secret},
                                   {"jwt_payload", payload}})
                  .ok());
  EXPECT_EQ(Health()["cause"], "payload_malformed");
  ASSERT_TRUE(SetSecret(cred, cred.client_id, cred.client_secret).ok());
  ASSERT_TRUE(client_->RegenerateImsKey().ok());
  h = Health();
  EXPECT_EQ(h["cause"], "certificate_not_registered") << h.dump();

  ASSERT_TRUE(client_
                  ->SetImsAccount({{"authorization_server", "http://127.0.0.1:1"},
                                   {"client_id", cred.client_id},
                                   {"client_secret", cred.client_secret},
                                   {"jwt_payload", cred.jwt_payload}})
                  .ok());
  EXPECT_EQ(Health()["cause"], "server_unreachable");
}

TEST_F(ImsIntegrationTest, AccountIsValidated) {
  ASSERT_TRUE(client_->CreateImsConfig("a").ok());
  json good = {{"authorization_server", ims_.ims_->url()},
               {"client_id", "c"},
               {"client_secret", "s"},
               {"jwt_payload",
                {{"iss", "o"}, {"sub", "t"}, {"aud", "a"}, {"exp", 1}, {"http://x/s/y", true}}}};
  EXPECT_TRUE(client_->SetImsAccount(good).ok());
  json bad = good;
  bad["jwt_payload"].erase("sub");
  EXPECT_EQ(client_->SetImsAccount(bad).status().error(), "invalid_payload");
  bad = good;
  bad["jwt_payload"] = "{not json";
  EXPECT_EQ(client_->SetImsAccount(bad).status().error(), "invalid_payload");
  bad = good;
  bad["authorization_server"] = "ftp://x";
  EXPECT_EQ(client_->SetImsAccount(bad).status().code(), Code::kInvalidArgument);
  bad = good;
  bad.erase("client_secret");
  EXPECT_EQ(client_->SetImsAccount(bad).status().code(), Code::kInvalidArgument);
}

// The author's clock an hour behind the identity service's: the assertion it signs has expired
// by the identity service's clock.
TEST_F(ImsIntegrationTest, HealthSaysPayloadExpiredWhenTheClocksDisagree) {
  ASSERT_TRUE(client_->CreateImsConfig("x").ok());
  auto cred = ims_.CreateCredential(*client_->GetCertificatePem());
  ASSERT_TRUE(SetSecret(cred, cred.client_id, cred.client_secret).ok());
  author_->Stop();
  auto db = store::OpenSqlite({.path = dir_.path() / "author" / "author.db"});
  ASSERT_TRUE(db.ok());
  auto st = AuthorStore::Open(**db);
  ASSERT_TRUE(st.ok());
  auto box = crypto::SecretBox::LoadOrCreate(dir_.path() / "author" / "master.key");
  ASSERT_TRUE(box.ok());
  FakeClock behind(SystemClock().NowSeconds() - 3600);
  ImsIntegrationService svc(**st, *box, {.clock = &behind});
  auto h = svc.CheckHealth();
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->cause, "payload_expired") << h->message;
  auto token = svc.tokens().Get();
  EXPECT_EQ(token.status().error(), "payload_expired");
}

TEST_F(ImsIntegrationTest, HealthWithoutAccountSaysWhatIsMissing) {
  EXPECT_EQ(client_->CheckHealth().status().error(), "no_ims_config");
  ASSERT_TRUE(client_->CreateImsConfig("x").ok());
  EXPECT_EQ(client_->CheckHealth().status().error(), "account_missing");
}

}  // namespace
}  // namespace portico::author::testing

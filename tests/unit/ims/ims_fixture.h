// A complete identity service without sockets: in-memory SQLite, a fake clock, one org with its
// admin, a project with the portal API and a service-account credential whose RSA key signs
// assertions.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/crypto/jws.h"
#include "core/crypto/keys.h"
#include "core/crypto/secret_box.h"
#include "core/crypto/x509.h"
#include "ims/service/admin_service.h"
#include "ims/service/console_service.h"
#include "ims/service/key_ring.h"
#include "ims/service/token_service.h"
#include "ims/store/ims_store.h"
#include "store/sqlite_database.h"

namespace portico::ims {

class ImsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.public_url = "http://ims.test";
    db_ = store::OpenSqlite({.in_memory = true}).value();
    store_ = ImsStore::Open(*db_).value();
    keys_ = KeyRing::Load(*store_, box_, clock_, settings_.service_token_seconds).value();
    jtis_ = JtiLedger::Open(*store_, clock_.NowSeconds()).value();
    tokens_ = std::make_unique<TokenService>(*store_, *keys_, *jtis_, clock_, settings_);
    console_ = std::make_unique<ConsoleService>(*store_, clock_, settings_);
    admin_ = std::make_unique<AdminService>(*store_, *tokens_, clock_);
    auto boot =
        admin_->EnsureOrgAdmin("Acme", "admin@acme.test", "correct horse battery", "system_admin");
    ASSERT_TRUE(boot.ok()) << boot.status().ToString();
    org_ = boot->org.id;
    ASSERT_TRUE(console_->CreateProject(org_, "brand").ok());
    ASSERT_TRUE(console_->AddApi(org_, "brand", "portal").ok());
    key_ = crypto::PrivateKey::GenerateRsa(2048).value();
    auto created = console_->CreateServiceAccount(org_, "brand", Cert(*key_), "");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    cred_ = created->credential;
    secret_ = created->client_secret;
  }

  std::string Cert(const crypto::PrivateKey& key) {
    return crypto::CreateSelfSignedCertificate(key, "portico-test", std::chrono::hours(24 * 365))
        .value();
  }

  // The claims a well-behaved client sends.
  nlohmann::json GoodClaims() {
    return {{"exp", clock_.NowSeconds() + 300},
            {"iss", org_},
            {"sub", cred_.technical_account_id},
            {"aud", settings_.public_url + "/c/" + cred_.client_id},
            {settings_.public_url + "/s/ent_portal_sdk", true}};
  }

  std::string Sign(const nlohmann::json& claims, const crypto::PrivateKey& key,
                   nlohmann::json header = nlohmann::json::object()) {
    return crypto::SignJws(header, claims, key, key.algorithm()).value();
  }

  StatusOr<IssuedToken> Exchange(const nlohmann::json& claims) {
    return tokens_->ExchangeJwt(cred_.client_id, secret_, Sign(claims, *key_));
  }

  ImsSettings settings_;
  FakeClock clock_;
  crypto::SecretBox box_{std::string(32, 'k')};
  std::unique_ptr<store::SqlDatabase> db_;
  std::unique_ptr<ImsStore> store_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<JtiLedger> jtis_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<ConsoleService> console_;
  std::unique_ptr<AdminService> admin_;
  std::string org_;
  std::optional<crypto::PrivateKey> key_;
  CredentialRecord cred_;
  std::string secret_;
};

// The OAuth error id of a failed result ("" when it succeeded).
template <typename T>
std::string ErrorOf(const StatusOr<T>& r) {
  return r.ok() ? "" : r.status().error();
}

}  // namespace portico::ims

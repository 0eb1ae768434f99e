// A real identity service and a real author service in this process, each on port 0 in its own
// temporary folder: one org with its admin, the author bound to that org, and an AuthorClient
// holding the admin's token.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "../store/temp_directory.h"
#include "author/author_service.h"
#include "author/client/author_client.h"
#include "ims/ims_service.h"

namespace portico::author::testing {

using TempDir = store::testing::TempDirectory;

inline constexpr char kLogin[] = "admin@acme.test";
inline constexpr char kPassword[] = "correct horse battery";

// The identity service with one org and its admin.
class ImsHarness {
 public:
  ImsHarness() {
    auto svc = ims::ImsService::Start(
        {.data_dir = dir_.path() / "ims", .port = 0, .handler_threads = 2, .access_log = false});
    if (!svc.ok()) std::abort();
    ims_ = std::move(*svc);
    auto boot = ims_->admin().EnsureOrgAdmin("Acme", kLogin, kPassword, "system_admin");
    if (!boot.ok()) std::abort();
    org_ = boot->org.id;
    auto other = ims_->admin().EnsureOrgAdmin("Other", "admin@other.test", kPassword, "org_admin");
    if (!other.ok()) std::abort();
    other_org_ = other->org.id;
  }
  std::string Token(const std::string& login = kLogin) {
    auto r = ims_->admin().Login(login, kPassword, "127.0.0.1");
    return r.ok() ? r->token.access_token : "";
  }
  // A service-account credential of the portal API from `certificate_pem`: client id, secret,
  // and the console's JWT payload.
  struct Credential {
    std::string client_id, client_secret;
    nlohmann::json jwt_payload;
  };
  Credential CreateCredential(const std::string& certificate_pem) {
    auto& console = ims_->console();
    if (!console.GetProject(org_, "brand").ok()) {
      EXPECT_TRUE(console.CreateProject(org_, "brand").ok());
      EXPECT_TRUE(console.AddApi(org_, "brand", "portal").ok());
    }
    auto created = console.CreateServiceAccount(org_, "brand", certificate_pem, "");
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return {};
    return {created->credential.client_id, created->client_secret,
            console.JwtPayload(created->credential)};
  }

  TempDir dir_;
  std::unique_ptr<ims::ImsService> ims_;
  std::string org_, other_org_;
};

class AuthorFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    AuthorOptions o;
    o.data_dir = dir_.path() / "author";
    o.ims_url = ims_.ims_->url();
    o.org = ims_.org_;
    o.handler_threads = 4;
    o.access_log = false;
    auto svc = AuthorService::Start(o);
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    author_ = std::move(*svc);
    client_ = std::make_unique<AuthorClient>(author_->url());
    client_->SetToken(ims_.Token());
  }

  ImsHarness ims_;
  TempDir dir_;
  std::unique_ptr<AuthorService> author_;
  std::unique_ptr<AuthorClient> client_;
};

}  // namespace portico::author::testing

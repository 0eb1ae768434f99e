#include "ims/service/admin_service.h"

#include "ims_fixture.h"

namespace portico::ims {
namespace {

class AdminServiceTest : public ImsFixture {};

TEST_F(AdminServiceTest, LoginIssuesAnAdminToken) {
  auto r = admin_->Login("admin@acme.test", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto p = admin_->AuthorizeOrg(r->token.access_token, org_);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->login, "admin@acme.test");
  EXPECT_TRUE(AdminService::IsSystemAdmin(*p));
  EXPECT_EQ(admin_->AuthorizeOrg(r->token.access_token, "OTHER@PorticoOrg").status().code(),
            Code::kNotFound);
}

TEST_F(AdminServiceTest, WrongPasswordAndUnknownLoginLookTheSame) {
  auto wrong = admin_->Login("admin@acme.test", "wrong password!", "10.0.0.1");
  auto unknown = admin_->Login("nobody@acme.test", "wrong password!", "10.0.0.1");
  EXPECT_EQ(wrong.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
}

TEST_F(AdminServiceTest, RepeatedFailuresLockTheLoginForAGrowingTime) {
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(admin_->Login("admin@acme.test", "bad", "10.0.0.1").ok());
  auto locked = admin_->Login("admin@acme.test", "correct horse battery", "10.0.0.1");
  EXPECT_EQ(locked.status().code(), Code::kTooManyRequests);
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(admin_->Login("admin@acme.test", "correct horse battery", "10.0.0.1").ok());
}

TEST_F(AdminServiceTest, ManyFailuresFromOneAddressBlockIt) {
  for (int i = 0; i < 30; ++i)
    (void)admin_->Login("user" + std::to_string(i) + "@x.test", "bad", "10.9.9.9");
  EXPECT_EQ(admin_->Login("admin@acme.test", "correct horse battery", "10.9.9.9").status().code(),
            Code::kTooManyRequests);
  EXPECT_TRUE(admin_->Login("admin@acme.test", "correct horse battery", "10.0.0.2").ok());
}

TEST_F(AdminServiceTest, ServiceTokensAreNotAdminTokens) {
  auto t = Exchange(GoodClaims());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(admin_->Authenticate(t->access_token).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(admin_->Authenticate("garbage").status().code(), Code::kUnauthenticated);
}

TEST_F(AdminServiceTest, BootstrapIsIdempotentAndChecksThePassword) {
  auto again = admin_->EnsureOrgAdmin("Acme", "admin@acme.test", "a different password");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->org.id, org_);
  // The first password still works: nothing changed.
  EXPECT_TRUE(admin_->Login("admin@acme.test", "correct horse battery", "10.0.0.3").ok());
  EXPECT_EQ(admin_->EnsureOrgAdmin("New", "new@x.test", "short").status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace portico::ims

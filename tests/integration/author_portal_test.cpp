// The seed's portal steps through the CLI against real processes: `portico up`'s identity
// service, `portico serve portal` and `portico serve author`. After the IMS configuration is
// healthy, the cloud service refuses an alias URL (naming the tenant's URL) and an unknown
// tenant, then binds the author to the tenant and makes 4 agents; test connection on every agent
// delivers the test package; a second author is refused by the tenant.
#include <fstream>

#include "author_process.h"
#include "core/json.h"
#include "harness.h"

namespace portico::it {
namespace {

class AuthorPortal : public ::testing::Test {
 protected:
  void SetUp() override {
    ims_ = std::make_unique<Ims>();
    fs::path pd = files_.path() / "portal";
    portal_ = std::make_unique<AuthorProcess>(
        pd,
        std::vector<std::string>{"serve", "portal", "--data", pd.string(), "--port", "0", "--ims",
                                 ims_->url(), "--log-file", (pd / "portal.log").string()});
    author_ = std::make_unique<AuthorProcess>(files_.path() / "author", ims_->url(), ims_->org());
  }

  std::pair<RunResult, json> Cli(const std::string& author_url, std::vector<std::string> args) {
    std::vector<std::string> argv = {PorticoBinary(), "--data",   ims_->data().string(), "--author",
                                     author_url,      "--portal", portal_->url()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    RunResult r = RunCommand(argv);
    auto doc = ParseStrictJson(r.out);
    EXPECT_TRUE(doc.ok()) << "not one JSON document: " << r.out << "\nstderr: " << r.err;
    return {r, doc.ok() ? *doc : json()};
  }

  // The IMS configuration steps until check health is OK.
  void ConfigureIms(const std::string& author_url, const std::string& name) {
    ASSERT_EQ(Cli(author_url, {"author", "ims", "create", "--alias", name}).first.exit_code, 0);
    fs::path crt = files_.path() / (name + ".crt");
    ASSERT_EQ(Cli(author_url, {"author", "ims", "certificate", "-o", crt.string()}).first.exit_code,
              0);
    auto [made, cred] = Cli(author_url, {"console", "credential", "create", "--org", ims_->org(),
                                         "--project", ims_->project(), "--cert", crt.string()});
    ASSERT_EQ(made.exit_code, 0) << made.out;
    RememberSecret(cred["client_secret"]);
    ASSERT_EQ(Cli(author_url, {"author", "ims", "account", "--client-id", cred["client_id"],
                               "--client-secret", cred["client_secret"], "--payload",
                               cred["jwt_payload"].dump(), "--authorization-server", ims_->url()})
                  .first.exit_code,
              0);
    auto [h, health] = Cli(author_url, {"author", "ims", "health"});
    ASSERT_EQ(health["ok"], true) << h.out;
  }

  TempDir files_;
  std::unique_ptr<Ims> ims_;
  std::unique_ptr<AuthorProcess> portal_;
  std::unique_ptr<AuthorProcess> author_;
};

TEST_F(AuthorPortal, CloudServiceAgentsAndTestConnection) {
  auto [t, tenant] =
      Cli(author_->url(), {"portal", "tenant", "create", "acme", "--alias", "acme-brand"});
  ASSERT_EQ(t.exit_code, 0) << t.out << t.err;
  ConfigureIms(author_->url(), "brand-portal");

  const std::string tenant_url = portal_->url() + "/t/acme";
  auto [alias, alias_doc] = Cli(author_->url(), {"author", "cloud-service", "create",
                                                 "--tenant-url", portal_->url() + "/t/acme-brand"});
  EXPECT_NE(alias.exit_code, 0);
  EXPECT_NE(alias_doc.value("error_description", "").find(tenant_url), std::string::npos)
      << alias.out;
  auto [unknown, unknown_doc] = Cli(author_->url(), {"author", "cloud-service", "create",
                                                     "--tenant-url", portal_->url() + "/t/nobody"});
  EXPECT_NE(unknown.exit_code, 0);
  Note("unknown tenant: " + unknown_doc.dump());

  auto [cs, cs_doc] = Cli(author_->url(), {"author", "cloud-service", "create", "--tenant-url",
                                           tenant_url, "--title", "Brand portal"});
  ASSERT_EQ(cs.exit_code, 0) << cs.out;
  EXPECT_EQ(cs_doc["tenant"], "acme");
  ASSERT_EQ(cs_doc["agents"].size(), 4u);

  auto [test, results] = Cli(author_->url(), {"author", "agent", "test", "--all"});
  EXPECT_EQ(test.exit_code, 0) << test.out;
  ASSERT_TRUE(results.is_array());
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) {
    EXPECT_EQ(r["ok"], true) << r.dump();
    EXPECT_EQ(r["message"], "test package successfully delivered");
  }
  auto [list, agents] = Cli(author_->url(), {"author", "agent", "list"});
  for (const auto& a : agents["agents"]) EXPECT_EQ(a["last_test"]["ok"], true) << a.dump();
  // The test package left nothing visible on the portal.
  auto [ls, listing] = Cli(author_->url(), {"--tenant", "acme", "portal", "ls", "/content/dam"});
  Note("portal ls after tests: " + ls.out);
  EXPECT_EQ(ls.out.find(".portico-test"), std::string::npos);

  // A second author is refused by the tenant.
  AuthorProcess second(files_.path() / "author2", ims_->url(), ims_->org());
  ConfigureIms(second.url(), "second");
  auto [again, again_doc] =
      Cli(second.url(), {"author", "cloud-service", "create", "--tenant-url", tenant_url});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(again_doc["error"], "author_already_bound") << again.out;
  EXPECT_EQ(second.Stop(), 0);

  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
  ExpectLogHasNoSecret(files_.path() / "author" / "author.log");
}

}  // namespace
}  // namespace portico::it

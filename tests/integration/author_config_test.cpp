// The seed's configuration steps through the CLI, in the seed's order, against `portico up`'s
// identity service and a `portico serve author` child: create the IMS configuration, download
// its certificate, make the credential in the developer console from it, fill the account, check
// health; then check health naming each cause: wrong secret, unknown client, a regenerated
// certificate that is not registered, and the identity service stopped.
#include <fstream>

#include "author_process.h"
#include "core/json.h"
#include "harness.h"

namespace portico::it {
namespace {

class AuthorConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    ims_ = std::make_unique<Ims>();
    author_ = std::make_unique<AuthorProcess>(files_.path() / "author", ims_->url(), ims_->org());
  }

  // `portico --data DATA --author URL ARGS... --json`: the result and its one JSON document.
  std::pair<RunResult, json> Cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {PorticoBinary(), "--data", ims_->data().string(), "--author",
                                     author_->url()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    RunResult r = RunCommand(argv);
    auto doc = ParseStrictJson(r.out);
    EXPECT_TRUE(doc.ok()) << "not one JSON document: " << r.out << "\nstderr: " << r.err;
    return {r, doc.ok() ? *doc : json()};
  }

  TempDir files_;
  std::unique_ptr<Ims> ims_;
  std::unique_ptr<AuthorProcess> author_;
};

TEST_F(AuthorConfig, SeedStepsThenEachHealthCause) {
  // 1. Create the IMS configuration.
  auto [created, config] = Cli({"author", "ims", "create", "--alias", "brand-portal"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  EXPECT_EQ(config["alias"], "brand-portal");
  auto [again, refused] = Cli({"author", "ims", "create", "--alias", "second"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(refused["error"], "ims_config_exists");

  // 2. Download the public certificate.
  fs::path crt = files_.path() / "brand-portal.crt";
  auto [cert, cert_doc] = Cli({"author", "ims", "certificate", "-o", crt.string()});
  ASSERT_EQ(cert.exit_code, 0) << cert.out;
  std::ifstream in(crt);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_EQ(pem.find("PRIVATE"), std::string::npos);

  // 3. The service-account credential in the developer console, from that certificate.
  auto [made, cred] = Cli({"console", "credential", "create", "--org", ims_->org(), "--project",
                           ims_->project(), "--cert", crt.string()});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const std::string client_id = cred["client_id"], secret = cred["client_secret"];
  RememberSecret(secret);
  fs::path payload = files_.path() / "payload.json";
  std::ofstream(payload) << cred["jwt_payload"].dump();

  // 4. The account.
  auto account = [&](const std::string& id, const std::string& s) {
    return Cli({"author", "ims", "account", "--client-id", id, "--client-secret", s, "--payload",
                payload.string(), "--authorization-server", ims_->url()});
  };
  auto [acc, acc_doc] = account(client_id, secret);
  ASSERT_EQ(acc.exit_code, 0) << acc.out;
  EXPECT_EQ(acc.out.find(secret), std::string::npos);

  // 5. Check health.
  auto [ok, ok_doc] = Cli({"author", "ims", "health"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(ok_doc["ok"], true);
  EXPECT_EQ(ok_doc["message"], "Token is retrieved successfully");

  auto cause = [&]() {
    auto [r, doc] = Cli({"author", "ims", "health"});
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_EQ(doc["ok"], false);
    EXPECT_FALSE(doc.value("message", "").empty());
    Note("check health: " + doc.dump());
    return doc.value("cause", "");
  };
  ASSERT_EQ(account(client_id, "pcs-not-the-secret").first.exit_code, 0);
  EXPECT_EQ(cause(), "wrong_secret");
  ASSERT_EQ(account("0123456789abcdef0123456789abcdef", secret).first.exit_code, 0);
  EXPECT_EQ(cause(), "unknown_client");
  ASSERT_EQ(account(client_id, secret).first.exit_code, 0);
  EXPECT_EQ(Cli({"author", "ims", "health"}).second["ok"], true);

  // The certificate regenerated on the author but not registered.
  auto [regen, regen_doc] = Cli({"author", "ims", "regenerate"});
  ASSERT_EQ(regen.exit_code, 0) << regen.out;
  EXPECT_EQ(cause(), "certificate_not_registered");

  // The identity service stopped (the author keeps serving: its admin token was verified with
  // cached keys, so call it directly with a token taken before).
  std::string token = ims_->admin_token();
  ASSERT_EQ(ims_->process().Stop(), 0);
  Http author(author_->url());
  Response r = author.Send("POST", "/api/v1/integration/ims/health", "",
                           {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["cause"], "server_unreachable") << r.body;

  EXPECT_EQ(author_->Stop(), 0);
  ExpectLogHasNoSecret(files_.path() / "author" / "author.log");
}

}  // namespace
}  // namespace portico::it

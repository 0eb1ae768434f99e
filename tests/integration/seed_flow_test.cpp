// The document the project started from, end to end through the CLI: an author configured with
// a portal tenant through a token of the identity service, step by step in the seed's order,
// then the same in one step with `portico connect`; both end with an asset uploaded on the
// author, published, and downloaded from the portal with the same sha256. Real processes on
// loopback: `portico up` (identity), `portico serve author`, `portico serve portal`.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "author_process.h"
#include "core/crypto/sha256.h"
#include "harness.h"
#include "portal_harness.h"

namespace portico::it {
namespace {

class SeedFlow : public ::testing::Test {
 protected:
  // Runs `portico <args> --json` against the shared identity service's portico.json and this
  // test's author and portal; returns the JSON it printed (fails the test on a non-zero exit).
  json Cli(std::vector<std::string> args, bool expect_ok = true) {
    std::vector<std::string> argv = {PorticoBinary(), "--data", ims().data().string()};
    if (author_) argv.insert(argv.end(), {"--author", author_->url()});
    if (portal_) argv.insert(argv.end(), {"--portal", portal_->url(), "--tenant", tenant_});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    RunResult r = RunCommand(argv);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    if (expect_ok) {
      EXPECT_EQ(r.exit_code, 0) << "portico " << cmd << "\nstdout: " << r.out
                                << "\nstderr: " << r.err;
    }
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "portico " << cmd << " printed no JSON: " << r.out;
    return j;
  }

  Ims& ims() { return SharedIms::Get(); }

  void StartAuthorAndPortal(const std::string& tenant) {
    tenant_ = tenant;
    portal_ = PortalProcess::Start(tmp_.path() / "portal", ims().url());
    author_ = std::make_unique<AuthorProcess>(tmp_.path() / "author", ims().url(), ims().org());
  }

  // Uploads a file, publishes its folder with --wait, lists it on the portal and downloads it;
  // the downloaded bytes have the uploaded sha256.
  void UploadPublishDownload(const std::string& folder) {
    const fs::path src = tmp_.path() / "src" / "brand-guide.txt";
    fs::create_directories(src.parent_path());
    std::string content;
    for (int i = 0; i < 20000; ++i)
      content += "Portico brand guide line " + std::to_string(i) + "\n";
    std::ofstream(src, std::ios::binary) << content;
    const std::string want = crypto::Sha256Hex(content);

    json up = Cli({"author", "upload", src.string(), "--to", folder});
    ASSERT_TRUE(up.is_array() && up.size() == 1) << up.dump();
    EXPECT_EQ(up[0].value("sha256", ""), want);
    const std::string path = up[0].value("path", "");
    EXPECT_EQ(path, folder + "/brand-guide.txt");

    json pub = Cli({"publish", folder, "--wait"});
    ASSERT_TRUE(pub.contains("items")) << pub.dump();
    for (const auto& item : pub["items"]) {
      EXPECT_EQ(item.value("state", ""), "delivered") << item.dump();
    }
    EXPECT_EQ(pub.value("blobs_sent", -1), 1) << pub.dump();
    EXPECT_EQ(pub.value("bytes_sent", -1), static_cast<int64_t>(content.size()));

    json ls = Cli({"portal", "ls", folder});
    ASSERT_TRUE(ls.is_array() && ls.size() == 1) << ls.dump();
    EXPECT_EQ(ls[0].value("path", ""), path);
    EXPECT_EQ(ls[0].value("sha256", ""), want);
    EXPECT_EQ(ls[0].value("type", ""), "asset");

    const fs::path out = tmp_.path() / "downloaded.txt";
    Cli({"portal", "download", path, "-o", out.string()});
    std::ifstream in(out, std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(crypto::Sha256Hex(got), want) << "the portal's copy differs from the upload";

    // Publishing again, unchanged, sends no blob.
    json again = Cli({"publish", folder, "--wait"});
    EXPECT_EQ(again.value("blobs_sent", -1), 0) << again.dump();
  }

  TempDir tmp_;
  std::unique_ptr<PortalProcess> portal_;
  std::unique_ptr<AuthorProcess> author_;
  std::string tenant_;
};

TEST_F(SeedFlow, StepByStepInTheSeedsOrder) {
  StartAuthorAndPortal("seed-steps");
  Cli({"portal", "tenant", "create", tenant_});
  // 1. The IMS configuration on the author: a key pair and a self-signed certificate.
  json config = Cli({"author", "ims", "create", "--alias", "brandportal"});
  EXPECT_EQ(config.dump().find("PRIVATE"), std::string::npos) << "a private key left the author";
  // 2. Its public certificate.
  const fs::path cert = tmp_.path() / "author.crt";
  Cli({"author", "ims", "certificate", "-o", cert.string()});
  ASSERT_TRUE(fs::exists(cert));
  // 3. The developer console: a project with the portal API and a credential from the certificate.
  Cli({"console", "project", "create", "seed-project", "--api", "portal"});
  json cred = Cli({"console", "credential", "create", "--org", ims().org(), "--project",
                   "seed-project", "--cert", cert.string()});
  ASSERT_TRUE(cred.contains("client_secret")) << cred.dump();
  RememberSecret(cred.value("client_secret", ""));
  // 4. The account on the author.
  Cli({"author", "ims", "account", "--title", "Seed", "--authorization-server", ims().url(),
       "--client-id", cred.value("client_id", ""), "--client-secret",
       cred.value("client_secret", ""), "--payload", cred["jwt_payload"].dump()});
  // 5. Check health.
  json health = Cli({"author", "ims", "health"});
  EXPECT_TRUE(health.value("ok", false)) << health.dump();
  EXPECT_EQ(health.value("message", ""), "Token is retrieved successfully");
  // 6. The portal cloud service with the tenant's URL makes four agents.
  Cli({"author", "cloud-service", "create", "--tenant-url", portal_->url() + "/t/" + tenant_});
  json agents = Cli({"author", "agent", "list"});
  const json& list = agents.is_array() ? agents : agents["agents"];
  EXPECT_EQ(list.size(), 4u) << agents.dump();
  // 7. Test connection on each agent.
  json tests = Cli({"author", "agent", "test", "--all"});
  EXPECT_NE(tests.dump().find("test package successfully delivered"), std::string::npos)
      << tests.dump();
  EXPECT_EQ(tests.dump().find("\"ok\":false"), std::string::npos) << tests.dump();

  UploadPublishDownload("/content/dam/seed");
  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
}

TEST_F(SeedFlow, ConnectInOneStep) {
  StartAuthorAndPortal("seed-connect");
  json connected = Cli({"connect"});
  ASSERT_TRUE(connected.contains("agents")) << connected.dump();
  EXPECT_EQ(connected["agents"].size(), 4u);
  EXPECT_EQ(connected.value("tenant_url", ""), portal_->url() + "/t/" + tenant_);
  // Running it again keeps what exists.
  json again = Cli({"connect"});
  EXPECT_EQ(again.value("tenant_url", ""), connected.value("tenant_url", ""));

  UploadPublishDownload("/content/dam/connect");
  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
}

}  // namespace
}  // namespace portico::it

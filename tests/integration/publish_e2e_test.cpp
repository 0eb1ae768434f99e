// Publishing on real processes (SPEC A5, P2): `portico up`'s identity service, `portico serve
// portal` and `portico serve author`, connected with `portico connect`, driven by the CLI.
//   - 500 assets in nested folders all reach the portal with their digests;
//   - the author killed (SIGKILL, by a fault point) before check, mid-upload, between upload and
//     commit, and right after commit, then restarted: every asset arrives exactly once;
//   - the portal stopped during a publish: items retry and drain once it is back;
//   - tokens that live a few seconds during a long publish: renewal is invisible; with the
//     identity service stopped, the cached token keeps publishing and check health says why.
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "author_process.h"
#include "core/crypto/sha256.h"
#include "harness.h"
#include "portal/client/portal_client.h"

namespace portico::it {
namespace {

using namespace std::chrono_literals;

// Sets environment variables for the children started while it lives.
class ScopedEnv {
 public:
  explicit ScopedEnv(const Fields& vars) {
    for (const auto& [k, v] : vars) {
      ::setenv(k.c_str(), v.c_str(), 1);
      names_.push_back(k);
    }
  }
  ~ScopedEnv() {
    for (const auto& k : names_) ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::string> names_;
};

// Short leases and retries, so a crashed worker's items are taken again within seconds.
const Fields kQuickRetries = {{"PORTICO_PUBLISH_LEASE_MS", "3000"},
                              {"PORTICO_PUBLISH_BACKOFF_MS", "300"}};

class PublishE2E : public ::testing::Test {
 protected:
  struct Identity {
    std::string url, org, login, password;
    fs::path data;  // a portico.json with the URL and admin, for the CLI
  };

  void SetUp() override {
    Ims& ims = SharedIms::Get();
    id_ = {ims.url(), ims.org(), ims.process().admin_login(), ims.process().admin_password(),
           ims.data()};
  }

  std::unique_ptr<AuthorProcess> StartPortal(int port = 0) {
    const fs::path pd = tmp_.path() / "portal";
    return std::make_unique<AuthorProcess>(
        pd, std::vector<std::string>{"serve", "portal", "--data", pd.string(), "--port",
                                     std::to_string(port), "--ims", id_.url, "--log-file",
                                     (pd / "portal.log").string()});
  }

  std::unique_ptr<AuthorProcess> StartAuthor(const Fields& env = {}) {
    Fields all = kQuickRetries;
    all.insert(all.end(), env.begin(), env.end());
    ScopedEnv scoped(all);
    return std::make_unique<AuthorProcess>(tmp_.path() / "author", id_.url, id_.org);
  }

  // `portico <args> --json` as the org's admin against this test's author and portal.
  RunResult Run(std::vector<std::string> args) {
    std::vector<std::string> argv = {PorticoBinary(), "--data", id_.data.string(), "--ims",
                                     id_.url};
    if (author_) argv.insert(argv.end(), {"--author", author_->url()});
    if (portal_) argv.insert(argv.end(), {"--portal", portal_->url(), "--tenant", tenant_});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    return RunCommand(argv, {}, 300s);
  }

  json Cli(std::vector<std::string> args) {
    RunResult r = Run(args);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.exit_code, 0) << "portico " << cmd << "\nstdout: " << r.out
                              << "\nstderr: " << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "portico " << cmd << " printed no JSON: " << r.out;
    return j;
  }

  // Writes `count` files of `size` random bytes under tmp/src/<name>, spread over nested
  // folders (d<i>/e<j>/f<k>.bin); returns the folder.
  fs::path MakeFiles(const std::string& name, int count, size_t size, int per_folder = 10) {
    const fs::path root = tmp_.path() / "src" / name;
    std::mt19937_64 rng(count * 7919 + size);
    for (int i = 0; i < count; ++i) {
      const int folder = i / per_folder;
      fs::path dir = root / ("d" + std::to_string(folder / 10)) / ("e" + std::to_string(folder));
      fs::create_directories(dir);
      std::string bytes(size, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      std::ofstream(dir / ("f" + std::to_string(i) + ".bin"), std::ios::binary) << bytes;
    }
    return root;
  }

  // Uploads a folder to /content/dam/<name>; returns path -> sha256 of every asset.
  std::map<std::string, std::string> Upload(const fs::path& folder) {
    json up = Cli({"author", "upload", folder.string(), "--to", "/content/dam"});
    std::map<std::string, std::string> out;
    for (const auto& a : up) out[a.value("path", "")] = a.value("sha256", "");
    return out;
  }

  // Every asset is on the portal with its digest; no two paths differ from the upload.
  void ExpectAllAtPortal(const std::map<std::string, std::string>& want,
                         const std::string& token = SharedIms::Get().admin_token()) {
    portal::PortalClient client(portal_->url(), tenant_);
    client.SetToken(token);
    int missing = 0;
    for (const auto& [path, sha] : want) {
      auto e = client.GetEntry(path);
      if (!e.ok()) {
        if (++missing <= 5)
          ADD_FAILURE() << path << " is not on the portal: " << e.status().ToString();
        continue;
      }
      EXPECT_EQ(e->sha256, sha) << path;
      EXPECT_EQ(e->type, "asset") << path;
    }
    EXPECT_EQ(missing, 0) << missing << " of " << want.size() << " assets are not on the portal";
  }

  // The portal's blob folder holds one file per distinct digest and no temporary file.
  void ExpectPortalBlobsClean(const std::map<std::string, std::string>& want) {
    std::set<std::string> digests;
    for (const auto& [p, d] : want) digests.insert(d);
    size_t blobs = 0, temps = 0;
    for (const auto& e : fs::recursive_directory_iterator(portal_->data() / "blobs")) {
      if (!e.is_regular_file()) continue;
      const std::string name = e.path().filename().string();
      if (e.path().parent_path().filename() == "tmp") {
        ++temps;
      } else if (digests.count(name)) {
        ++blobs;
      }
    }
    EXPECT_EQ(blobs, digests.size()) << "a blob of a published asset is missing";
    EXPECT_EQ(temps, 0u) << "an interrupted upload left a temporary file";
  }

  // `portico publish PATH` without waiting; the request id.
  int64_t PublishLater(const std::string& path) {
    json r = Cli({"publish", path});
    return r.value("id", int64_t{0});
  }

  // Polls the request until every item is delivered (or the deadline passes); the last status.
  json WaitDelivered(int64_t id, std::chrono::seconds timeout = 240s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json status;
    while (std::chrono::steady_clock::now() < deadline) {
      RunResult r = Run({"publish", "status", std::to_string(id)});
      status = json::parse(r.out, nullptr, false);
      if (status.is_object() && status.value("done", false)) break;
      std::this_thread::sleep_for(500ms);
    }
    return status;
  }

  void StartConnected(const std::string& tenant, int portal_port = 0) {
    tenant_ = tenant;
    portal_ = StartPortal(portal_port);
    author_ = StartAuthor();
    json connected = Cli({"connect"});
    ASSERT_EQ(connected.value("agents", json::array()).size(), 4u) << connected.dump();
  }

  Identity id_;
  TempDir tmp_;
  std::string tenant_;
  std::unique_ptr<AuthorProcess> portal_;
  std::unique_ptr<AuthorProcess> author_;
};

TEST_F(PublishE2E, FiveHundredAssetsInNestedFolders) {
  StartConnected("many");
  auto want = Upload(MakeFiles("many", 500, 2048));
  ASSERT_EQ(want.size(), 500u);
  json pub = Cli({"publish", "/content/dam/many", "--wait"});
  size_t delivered = 0;
  for (const auto& item : pub["items"]) delivered += item.value("state", "") == "delivered";
  // 500 assets and their 56 folders (many, 5 d*, 50 e*).
  EXPECT_EQ(delivered, pub["items"].size()) << pub.dump().substr(0, 2000);
  EXPECT_EQ(pub["items"].size(), 556u);
  // Every asset is at the portal with its digest (below), and each blob was counted once: the
  // counters are added in the transaction that completes the batch, and an upload whose answer
  // was lost is counted when the portal says it has the blob.
  EXPECT_EQ(pub.value("blobs_sent", int64_t{0}), 500);
  EXPECT_EQ(pub.value("bytes_sent", int64_t{0}), 500 * 2048);
  ExpectAllAtPortal(want);
  ExpectPortalBlobsClean(want);

  json again = Cli({"publish", "/content/dam/many", "--wait"});
  EXPECT_EQ(again.value("blobs_sent", -1), 0) << "an unchanged republish sent blobs";
  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
}

class PublishCrash : public PublishE2E, public ::testing::WithParamInterface<const char*> {};

TEST_P(PublishCrash, KilledAuthorDeliversEveryAssetExactlyOnce) {
  const std::string point = GetParam();
  std::string tenant = "crash-" + point;
  std::replace(tenant.begin(), tenant.end(), '_', '-');
  StartConnected(tenant);
  // 40 assets of 512 KiB: uploads take several reads, so "mid_upload" falls inside one.
  auto want = Upload(MakeFiles("crash", 40, 512 * 1024));
  ASSERT_EQ(want.size(), 40u);

  // Restart the author armed with the fault point; it kills itself when a worker gets there.
  ASSERT_EQ(author_->Stop(), 0);
  author_ = StartAuthor({{"PORTICO_FAULT_KILL_AT", point}});
  // The author may die before it has answered: then the request id is read after the restart.
  RunResult published = Run({"publish", "/content/dam/crash"});
  int64_t id = json::parse(published.out, nullptr, false).value("id", int64_t{0});
  int signal = 0;
  ASSERT_TRUE(author_->WaitForExit(120s, &signal)) << "the author never reached " << point;
  EXPECT_EQ(signal, SIGKILL);

  // Restarted plainly: expired leases make the items claimable again, and they drain.
  author_ = StartAuthor();
  if (id == 0) {
    json recent = Cli({"publish", "status"});
    ASSERT_EQ(recent["requests"].size(), 1u) << recent.dump();
    id = recent["requests"][0].value("id", int64_t{0});
  }
  ASSERT_GT(id, 0);
  json status = WaitDelivered(id);
  ASSERT_TRUE(status.value("done", false)) << status.dump().substr(0, 2000);
  for (const auto& item : status["items"]) {
    EXPECT_EQ(item.value("state", ""), "delivered") << item.dump();
  }
  ExpectAllAtPortal(want);
  ExpectPortalBlobsClean(want);
  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(FourPoints, PublishCrash,
                         ::testing::Values("before_check", "mid_upload", "before_commit",
                                           "after_commit"));

TEST_F(PublishE2E, PortalStoppedDuringAPublishDrainsAfterItRestarts) {
  const int port = PickFreePort();
  StartConnected("outage", port);
  auto want = Upload(MakeFiles("outage", 60, 64 * 1024));
  ASSERT_EQ(portal_->Stop(), 0);
  const int64_t id = PublishLater("/content/dam/outage");
  // While the portal is down, items fail and wait for their retry, with the reason visible.
  json status;
  for (int i = 0; i < 60; ++i) {
    status = json::parse(Run({"publish", "status", std::to_string(id)}).out, nullptr, false);
    if (status.dump().find("retrying") != std::string::npos) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_NE(status.dump().find("retrying"), std::string::npos) << status.dump().substr(0, 2000);
  portal_ = StartPortal(port);
  status = WaitDelivered(id);
  ASSERT_TRUE(status.value("done", false)) << status.dump().substr(0, 2000);
  for (const auto& item : status["items"]) {
    EXPECT_EQ(item.value("state", ""), "delivered") << item.dump();
  }
  ExpectAllAtPortal(want);
  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
}

// Its own identity service: `portico up` to make the org and admin, then `serve ims` on the same
// data with tokens that live 2 seconds.
TEST_F(PublishE2E, ShortLivedTokensRenewInvisiblyAndAStoppedIdentityServiceIsNamed) {
  const fs::path up_data = tmp_.path() / "up";
  std::string login, password, org;
  {
    Ims first(up_data);
    login = first.process().admin_login();
    password = first.process().admin_password();
    org = first.org();
    first.StopAndCheckLog();
  }
  const fs::path ims_data = up_data / "ims";
  auto ims = std::make_unique<AuthorProcess>(
      ims_data, std::vector<std::string>{"serve", "ims", "--data", ims_data.string(), "--port", "0",
                                         "--token-lifetime", "2", "--log-file",
                                         (ims_data / "serve.log").string()});
  // The CLI's settings: this identity service and the admin of `portico up`.
  id_ = {ims->url(), org, login, password, tmp_.path() / "cli"};
  fs::create_directories(id_.data);
  std::ofstream(id_.data / "portico.json")
      << json{{"ims", id_.url}, {"org", org}, {"admin", {{"login", login}, {"password", password}}}}
             .dump();
  tenant_ = "short";
  portal_ = StartPortal();
  author_ = StartAuthor();
  json connected = Cli({"connect"});
  ASSERT_EQ(connected.value("agents", json::array()).size(), 4u) << connected.dump();

  // A publish that lasts longer than a token: 120 items of 256 KiB.
  auto want = Upload(MakeFiles("short", 120, 256 * 1024));
  auto more = Upload(MakeFiles("later", 1, 1000));  // published after the identity service stops
  Http ims_http(id_.url);
  Response logged_in =
      ims_http.PostJson("/api/v1/login", {{"login", login}, {"password", password}});
  ASSERT_EQ(logged_in.status, 200) << logged_in.body;
  const std::string admin_token = logged_in.Json().value("access_token", "");
  RememberSecret(admin_token);
  // Token exchanges the identity service has answered so far (its access log).
  auto exchanges = [&] {
    std::ifstream in(ims_data / "serve.log");
    std::string line;
    int n = 0;
    while (std::getline(in, line))
      n += line.find("\"route\":\"/ims/exchange/jwt\"") != std::string::npos;
    return n;
  };
  const int exchanges_before = exchanges();
  const auto start = std::chrono::steady_clock::now();
  json pub = Cli({"publish", "/content/dam/short", "--wait"});
  const auto took = std::chrono::steady_clock::now() - start;
  // The token of `connect` expired seconds ago: the publish renewed it (and again every second
  // while it ran), and no item noticed.
  EXPECT_GE(exchanges() - exchanges_before, 1) << "the publish never renewed its token";
  for (const auto& item : pub["items"]) {
    EXPECT_EQ(item.value("state", ""), "delivered") << item.dump();
  }
  ExpectAllAtPortal(want, admin_token);
  Note("publish with 2 s tokens took " +
       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) + " ms");

  // The identity service stops: the cached token still publishes until it expires...
  ASSERT_EQ(ims->Stop(), 0);
  json quick = Cli({"publish", more.begin()->first, "--wait"});
  // (it may have expired already on a slow machine; then the item waits for its retry)
  const std::string state = quick["items"][0].value("state", "");
  EXPECT_TRUE(state == "delivered" || state == "retrying" || state == "parked") << quick.dump();
  // ...and check health names the cause.
  RunResult health = Run({"author", "ims", "health"});
  json h = json::parse(health.out, nullptr, false);
  EXPECT_EQ(h.value("ok", true), false) << health.out;
  EXPECT_EQ(h.value("cause", ""), "server_unreachable") << health.out;
  EXPECT_EQ(author_->Stop(), 0);
  EXPECT_EQ(portal_->Stop(), 0);
}

}  // namespace
}  // namespace portico::it

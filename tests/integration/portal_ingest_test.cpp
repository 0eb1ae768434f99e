// The portal as real processes on loopback: `portico up` (identity) and `portico serve portal`.
// Tenant creation, handshake and binding, check/upload/commit of real files, listing, download
// with ranges, and the hostile inputs of issue 10; /healthz answers after every one of them.
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "core/crypto/sha256.h"
#include "harness.h"
#include "portal/client/portal_client.h"
#include "portal_harness.h"

namespace portico::it {
namespace {

constexpr const char* kTenant = "acme";
constexpr const char* kAlias = "acme-brand";
constexpr const char* kAuthor = "author-it-1";

struct World {
  std::unique_ptr<TempDir> temp;
  std::unique_ptr<PortalProcess> portal;
  std::string sdk_token;  // a service account's token: scope ent_portal_sdk
};

World& GetWorld() {
  static World* w = [] {
    auto* world = new World();
    Ims& ims = SharedIms::Get();
    world->temp = std::make_unique<TempDir>();
    world->portal = PortalProcess::Start(world->temp->path() / "portal", ims.url());
    Credential cred = ims.CreateServiceAccount();
    world->sdk_token = ims.ExchangeOk(cred);
    RememberSecret(world->sdk_token);
    RememberSecret(ims.admin_token());
    return world;
  }();
  return *w;
}

class PortalIt : public ::testing::Test {
 protected:
  void SetUp() override {
    World& w = GetWorld();
    url_ = w.portal->url();
    http_ = std::make_unique<Http>(url_);
    ims_ = &SharedIms::Get();
    // The tenant and the binding, made once by whichever test runs first.
    static bool ready = false;
    if (!ready) {
      Response r = http_->PostJson("/api/v1/tenants", {{"tenant", kTenant}, {"alias", kAlias}},
                                   ims_->admin_token());
      ASSERT_EQ(r.status, 201) << r.body;
      auto c = Client();
      protocol::HandshakeRequest hs;
      hs.author_id = kAuthor;
      hs.author_url = "http://author.example";
      hs.bind = true;
      auto bound = c->Handshake(hs);
      ASSERT_TRUE(bound.ok()) << bound.status().ToString();
      ready = true;
    }
  }

  void TearDown() override {
    if (!stopped_) ExpectHealthy();
  }

  void ExpectHealthy() {
    ASSERT_TRUE(GetWorld().portal->Running()) << GetWorld().portal->Stderr();
    Response h = http_->Get("/healthz");
    EXPECT_EQ(h.status, 200) << "the portal stopped answering /healthz";
  }

  // A client of the tenant as the bound author.
  std::unique_ptr<portal::PortalClient> Client(const std::string& token = "") {
    auto c = std::make_unique<portal::PortalClient>(url_, kTenant);
    c->SetToken(token.empty() ? GetWorld().sdk_token : token);
    c->SetAuthorId(kAuthor);
    return c;
  }

  Fields Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  // A file of `size` pseudo-random bytes.
  fs::path MakeFile(const std::string& name, size_t size, uint32_t seed) {
    fs::path p = GetWorld().temp->path() / name;
    std::mt19937 gen(seed);
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(gen() & 0xff);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  static std::string FileSha(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    return crypto::Sha256Hex(s);
  }

  // Uploads a file and commits it at `path`; returns its digest.
  std::string Publish(const fs::path& file, const std::string& path, int64_t seq,
                      const std::string& key) {
    auto c = Client();
    std::string sha = FileSha(file);
    auto missing = c->Check({{sha}});
    EXPECT_TRUE(missing.ok()) << missing.status().ToString();
    if (missing.ok() && !missing->missing.empty()) {
      auto up = c->UploadFile(sha, file);
      EXPECT_TRUE(up.ok()) << up.status().ToString();
    }
    protocol::CommitRequest commit;
    commit.idempotency_key = key;
    protocol::Operation op;
    op.kind = protocol::OpKind::kUpsertAsset;
    op.path = path;
    op.seq = seq;
    op.sha256 = sha;
    op.size = static_cast<int64_t>(fs::file_size(file));
    op.content_type = "application/octet-stream";
    op.version = 1;
    commit.operations.push_back(op);
    auto r = c->Commit(commit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return sha;
  }

  static inline bool stopped_ = false;  // set by the last test, which stops the portal
  std::string url_;
  std::unique_ptr<Http> http_;
  Ims* ims_ = nullptr;
};

TEST_F(PortalIt, TenantIsOnePerOrgAndReadableByItsAdmins) {
  Response again = http_->PostJson("/api/v1/tenants", {{"tenant", "second"}}, ims_->admin_token());
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.Json().value("error", ""), "org_has_tenant");
  Response bad = http_->PostJson("/api/v1/tenants", {{"tenant", "../etc"}}, ims_->admin_token());
  EXPECT_EQ(bad.status, 400);
  Response sdk = http_->PostJson("/api/v1/tenants", {{"tenant", "other"}}, GetWorld().sdk_token);
  EXPECT_EQ(sdk.status, 403);
  Response get = http_->Get(std::string("/api/v1/tenants/") + kTenant, Bearer(ims_->admin_token()));
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.Json().value("bound_author_id", ""), kAuthor);
  EXPECT_EQ(get.Json().value("url", ""), url_ + "/t/" + kTenant);
  Response none = http_->Get("/api/v1/tenants/nosuch", Bearer(ims_->admin_token()));
  EXPECT_EQ(none.status, 404);
  Response anon = http_->Get(std::string("/api/v1/tenants/") + kTenant);
  EXPECT_EQ(anon.status, 401);
}

TEST_F(PortalIt, SecondAuthorAliasUrlAndScopeAreRefused) {
  auto c = Client();
  protocol::HandshakeRequest hs;
  hs.author_id = "someone-else";
  hs.bind = true;
  auto second = c->Handshake(hs);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().error(), "author_already_bound");
  EXPECT_NE(second.status().message().find("another author"), std::string::npos);

  portal::PortalClient alias(url_, kAlias);
  alias.SetToken(GetWorld().sdk_token);
  hs.author_id = kAuthor;
  auto via_alias = alias.Handshake(hs);
  ASSERT_FALSE(via_alias.ok());
  EXPECT_EQ(via_alias.status().error(), "alias_url");
  EXPECT_NE(via_alias.status().message().find(url_ + "/t/" + kTenant), std::string::npos)
      << via_alias.status().message();

  portal::PortalClient unknown(url_, "nosuch");
  unknown.SetToken(GetWorld().sdk_token);
  auto nosuch = unknown.Handshake(hs);
  EXPECT_EQ(nosuch.status().code(), Code::kNotFound);
  EXPECT_EQ(nosuch.status().error(), "unknown_tenant");

  // An admin token lacks the portal scope.
  auto admin = Client(ims_->admin_token());
  auto scoped = admin->Check({});
  EXPECT_EQ(scoped.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(scoped.status().error(), "insufficient_scope");
  // The wrong author header after binding.
  Response wrong = http_->Send("POST", std::string("/t/") + kTenant + "/api/v1/ingest/check",
                               R"({"digests":[]})",
                               {{"Authorization", "Bearer " + GetWorld().sdk_token},
                                {"Content-Type", "application/json"},
                                {"X-Portico-Author", "someone-else"}});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.Json().value("error", ""), "not_bound_author");
  Response garbage = http_->Send(
      "POST", std::string("/t/") + kTenant + "/api/v1/ingest/check", R"({"digests":[]})",
      {{"Authorization", "Bearer not.a.token"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(garbage.status, 401);
}

TEST_F(PortalIt, PublishedFilesListAndDownloadWithTheSameDigest) {
  fs::path big = MakeFile("big.bin", 3 * 1024 * 1024 + 17, 1);
  fs::path small = MakeFile("small.bin", 1000, 2);
  std::string big_sha = Publish(big, "/content/dam/brand/videos/big.bin", 10, "k-big");
  std::string small_sha = Publish(small, "/content/dam/brand/small file é.bin", 11, "k-small");

  auto c = Client();
  auto listing = c->ListAll("/content/dam/brand");
  ASSERT_TRUE(listing.ok()) << listing.status().ToString();
  ASSERT_EQ(listing->size(), 2u);
  EXPECT_EQ((*listing)[0].name, "videos");
  EXPECT_EQ((*listing)[0].type, "folder");
  EXPECT_EQ((*listing)[1].name, "small file é.bin");
  EXPECT_EQ((*listing)[1].sha256, small_sha);

  std::string got;
  auto dl = c->Download("/content/dam/brand/videos/big.bin", [&](std::string_view d) {
    got.append(d);
    return Status::Ok();
  });
  ASSERT_TRUE(dl.ok()) << dl.status().ToString();
  EXPECT_EQ(dl->status, 200);
  EXPECT_EQ(crypto::Sha256Hex(got), big_sha);
  EXPECT_EQ(dl->etag, "\"" + big_sha + "\"");

  fs::path out = GetWorld().temp->path() / "out.bin";
  auto to_file = c->DownloadToFile("/content/dam/brand/small file é.bin", out);
  ASSERT_TRUE(to_file.ok()) << to_file.status().ToString();
  EXPECT_EQ(FileSha(out), small_sha);

  // One range, then the rest: a resumed download.
  std::string part;
  auto r1 = c->Download(
      "/content/dam/brand/videos/big.bin",
      [&](std::string_view d) {
        part.append(d);
        return Status::Ok();
      },
      portal::DownloadRange{0, 1'000'000});
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->status, 206);
  EXPECT_EQ(part.size(), 1'000'001u);
  auto r2 = c->Download(
      "/content/dam/brand/videos/big.bin",
      [&](std::string_view d) {
        part.append(d);
        return Status::Ok();
      },
      portal::DownloadRange{1'000'001, std::nullopt});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 206);
  EXPECT_EQ(crypto::Sha256Hex(part), big_sha);

  // Raw headers of a download.
  Response raw =
      http_->Get(std::string("/t/") + kTenant + "/api/v1/download/content/dam/brand/" +
                     "small%20file%20%C3%A9.bin",
                 {{"Authorization", "Bearer " + ims_->admin_token()}, {"Range", "bytes=-10"}});
  EXPECT_EQ(raw.status, 206);
  EXPECT_EQ(raw.body.size(), 10u);
  EXPECT_EQ(std::string(raw.headers.Get("Content-Range").value_or("")), "bytes 990-999/1000");
  EXPECT_EQ(std::string(raw.headers.Get("Accept-Ranges").value_or("")), "bytes");
  EXPECT_NE(std::string(raw.headers.Get("Content-Disposition").value_or(""))
                .find("filename*=UTF-8''small%20file%20%C3%A9.bin"),
            std::string::npos);
  // The alias URL reads too.
  Response alias = http_->Get(std::string("/t/") + kAlias + "/api/v1/assets/content/dam/brand",
                              Bearer(ims_->admin_token()));
  EXPECT_EQ(alias.status, 200) << alias.body;
}

TEST_F(PortalIt, HostileRangesGetA416AndTheServiceLives) {
  fs::path f = MakeFile("ranged.bin", 5000, 3);
  Publish(f, "/content/dam/ranged.bin", 20, "k-ranged");
  std::string many = "bytes=";
  for (int i = 0; i < 500; ++i) many += std::to_string(i * 2) + "-" + std::to_string(i * 2) + ",";
  many.pop_back();
  const std::string path = std::string("/t/") + kTenant + "/api/v1/download/content/dam/ranged.bin";
  for (const std::string& range :
       {many, std::string("bytes=0-10,5-20"), std::string("bytes=5000-"),
        std::string("bytes=9999999-99999999"), std::string("bytes=10-5"), std::string("bytes=x-y"),
        std::string("bytes=-0"), std::string("bytes=--5"), std::string(4000, 'r')}) {
    Response r =
        http_->Get(path, {{"Authorization", "Bearer " + ims_->admin_token()}, {"Range", range}});
    EXPECT_EQ(r.status, 416) << range.substr(0, 40) << " " << r.body;
    EXPECT_FALSE(r.Json().value("error", "").empty()) << r.body;
    EXPECT_EQ(std::string(r.headers.Get("Content-Range").value_or("")), "bytes */5000");
    ExpectHealthy();
  }
  // Two Range fields.
  Response two = http_->Get(path, {{"Authorization", "Bearer " + ims_->admin_token()},
                                   {"Range", "bytes=0-1"},
                                   {"Range", "bytes=2-3"}});
  EXPECT_EQ(two.status, 416);
  // An end beyond the file is clipped.
  Response clipped = http_->Get(
      path, {{"Authorization", "Bearer " + ims_->admin_token()}, {"Range", "bytes=4990-999999"}});
  EXPECT_EQ(clipped.status, 206);
  EXPECT_EQ(clipped.body.size(), 10u);
}

TEST_F(PortalIt, BadBlobMissingBlobAndReplayChangeNothing) {
  auto c = Client();
  // Bytes that do not match their digest: refused and not kept.
  std::string claimed = crypto::Sha256Hex("the real bytes");
  Response bad = http_->Send(
      "PUT", std::string("/t/") + kTenant + "/api/v1/ingest/blobs/" + claimed, "other bytes",
      {{"Authorization", "Bearer " + GetWorld().sdk_token},
       {"X-Portico-Author", kAuthor},
       {"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.Json().value("error", ""), "digest_mismatch");
  ExpectHealthy();
  auto still = c->Check({{claimed, crypto::Sha256Hex("other bytes")}});
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->missing.size(), 2u);
  // No temporary file is left behind in the blob store.
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(GetWorld().portal->data() / "blobs")) {
    if (e.is_regular_file() && e.path().filename().string().find(claimed) != std::string::npos)
      ++files;
  }
  EXPECT_EQ(files, 0u);

  // A hostile blob name.
  Response traversal = http_->Send(
      "PUT", std::string("/t/") + kTenant + "/api/v1/ingest/blobs/..%2F..%2Fetc%2Fpasswd", "x",
      {{"Authorization", "Bearer " + GetWorld().sdk_token}, {"X-Portico-Author", kAuthor}});
  EXPECT_GE(traversal.status, 400);
  EXPECT_LT(traversal.status, 500);

  // A commit naming a blob that is not there: refused whole.
  fs::path f = MakeFile("present.bin", 100, 4);
  std::string present = FileSha(f);
  ASSERT_TRUE(c->UploadFile(present, f).ok());
  protocol::CommitRequest commit;
  commit.idempotency_key = "k-missing";
  protocol::Operation ok_op;
  ok_op.kind = protocol::OpKind::kUpsertAsset;
  ok_op.path = "/content/dam/missing-test/ok.bin";
  ok_op.seq = 30;
  ok_op.sha256 = present;
  ok_op.size = 100;
  protocol::Operation gone = ok_op;
  gone.path = "/content/dam/missing-test/gone.bin";
  gone.seq = 31;
  gone.sha256 = claimed;
  gone.size = 14;
  commit.operations = {ok_op, gone};
  auto refused = c->Commit(commit);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().error(), "missing_blob");
  EXPECT_NE(refused.status().message().find(claimed), std::string::npos);
  auto entry = c->GetEntry("/content/dam/missing-test");
  EXPECT_EQ(entry.status().code(), Code::kNotFound);

  // A replayed commit is applied once.
  commit.idempotency_key = "k-replay";
  commit.operations = {ok_op};
  auto first = c->Commit(commit);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->applied);
  EXPECT_EQ(first->operations, 1);
  auto replay = c->Commit(commit);
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->applied);
  EXPECT_EQ(replay->operations, 1);

  // Hostile paths in a commit body.
  for (const std::string& p : {std::string("/content/dam/../etc/passwd"),
                               std::string("/etc/passwd"), std::string("/content/dam/a\\b")}) {
    json body = protocol::ToJson(commit);
    body["idempotency_key"] = "k-hostile";
    body["operations"][0]["path"] = p;
    Response r =
        http_->Send("POST", std::string("/t/") + kTenant + "/api/v1/ingest/commit", body.dump(),
                    {{"Authorization", "Bearer " + GetWorld().sdk_token},
                     {"X-Portico-Author", kAuthor},
                     {"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 400) << p << " " << r.body;
    ExpectHealthy();
  }
}

TEST_F(PortalIt, CliListsAndDownloads) {
  fs::path f = MakeFile("cli.bin", 4096, 5);
  std::string sha = Publish(f, "/content/dam/cli/file.bin", 40, "k-cli");
  Fields env = {{"PORTICO_PORTAL", url_}, {"PORTICO_TENANT", kTenant}};
  RunResult ls = RunCommand({PorticoBinary(), "portal", "ls", "/content/dam/cli", "--json",
                             "--data", ims_->data().string()},
                            env);
  ASSERT_EQ(ls.exit_code, 0) << ls.out << ls.err;
  json entries = json::parse(ls.out, nullptr, false);
  ASSERT_TRUE(entries.is_array()) << ls.out;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].value("path", ""), "/content/dam/cli/file.bin");
  EXPECT_EQ(entries[0].value("type", ""), "asset");
  EXPECT_EQ(entries[0].value("size", 0), 4096);
  EXPECT_EQ(entries[0].value("sha256", ""), sha);

  fs::path out = GetWorld().temp->path() / "cli-out.bin";
  RunResult dl = RunCommand({PorticoBinary(), "portal", "download", "/content/dam/cli/file.bin",
                             "-o", out.string(), "--json", "--data", ims_->data().string()},
                            env);
  ASSERT_EQ(dl.exit_code, 0) << dl.out << dl.err;
  EXPECT_EQ(FileSha(out), sha);
  RunResult missing = RunCommand({PorticoBinary(), "portal", "download", "/content/dam/cli/none",
                                  "-o", out.string(), "--json", "--data", ims_->data().string()},
                                 env);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(json::parse(missing.out, nullptr, false).value("error", ""), "not_found");
  EXPECT_EQ(FileSha(out), sha);  // the earlier file is untouched
}

TEST_F(PortalIt, ZZStopsCleanlyWithoutSecretsInItsLog) {
  World& w = GetWorld();
  stopped_ = true;
  EXPECT_EQ(w.portal->Stop(), 0) << w.portal->Stderr();
  ExpectLogHasNoSecret(w.portal->data() / "portal.log");
}

}  // namespace
}  // namespace portico::it

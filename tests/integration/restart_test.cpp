// `portico up` restarted on the same folder keeps everything (SPEC §7): the org, the admin and
// their password, portico.json, the token-signing key and the credentials. A fixed port, picked
// free, keeps the public URL and so the `aud` of assertions the same. Also: `portico serve ims`
// alone starts, serves and stops cleanly.
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "harness.h"

namespace portico::it {
namespace {

json ReadJsonFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str(), nullptr, false);
}

std::vector<std::string> Kids(Http& http) {
  std::vector<std::string> kids;
  const json jwks = http.Get("/ims/keys").Json();
  for (const auto& k : jwks["keys"]) kids.push_back(k.value("kid", ""));
  return kids;
}

TEST(Restart, KeepsOrgAdminPorticoJsonAndCredentials) {
  TempDir tmp;
  const fs::path data = tmp.path() / "data";
  const int port = PickFreePort();
  const int author_port = PickFreePort();
  const int portal_port = PickFreePort();
  json first_json;
  Credential sa, oa;
  std::string token_before, org_before, password_before;
  std::vector<std::string> kids_before;
  {
    Ims ims(data, port, author_port, portal_port);
    EXPECT_EQ(ims.url(), "http://127.0.0.1:" + std::to_string(port));
    org_before = ims.org();
    password_before = ims.process().admin_password();
    sa = ims.CreateServiceAccount();
    oa = ims.CreateOAuth();
    token_before = ims.ExchangeOk(sa);
    kids_before = Kids(ims.http());
    first_json = ReadJsonFile(data / "portico.json");
    ASSERT_TRUE(first_json.is_object());
    EXPECT_EQ(first_json, ims.process().ready()) << "portico.json is what up printed";
    ims.StopAndCheckLog();
  }
  {
    Ims again(data, port, author_port, portal_port);  // logs in with the password it printed
    EXPECT_EQ(again.url(), "http://127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(again.org(), org_before) << "the org changed across a restart";
    EXPECT_EQ(again.process().admin_password(), password_before);
    EXPECT_EQ(again.process().ready(), first_json);
    json second_json = ReadJsonFile(data / "portico.json");
    EXPECT_EQ(second_json, first_json) << "portico.json changed across a restart";
    struct stat st {};
    ASSERT_EQ(::stat((data / "portico.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    // The admin's password from before still logs in.
    Response login = again.http().PostJson(
        "/api/v1/login",
        {{"login", first_json["admin"].value("login", "")}, {"password", password_before}});
    ASSERT_EQ(login.status, 200) << login.body;
    RememberSecret(login.Json().value("access_token", ""));
    EXPECT_EQ(login.Json().value("org_id", ""), org_before);

    // The credentials are still there and still work.
    Response listed = again.Admin("GET", "/credentials");
    ASSERT_EQ(listed.status, 200) << listed.body;
    int found = 0;
    for (const auto& c : listed.Json()) {
      found += c.value("client_id", "") == sa.client_id || c.value("client_id", "") == oa.client_id;
      EXPECT_FALSE(c.contains("client_secret"));
    }
    EXPECT_EQ(found, 2) << listed.body;
    std::string token_after = again.ExchangeOk(sa);
    EXPECT_EQ(again.VerifyAccessToken(token_after).value("client_id", ""), sa.client_id);
    Response cc = again.http().PostForm("/ims/token/v2", {{"grant_type", "client_credentials"},
                                                          {"client_id", oa.client_id},
                                                          {"client_secret", oa.client_secret},
                                                          {"org_id", org_before},
                                                          {"scope", "openid"}});
    EXPECT_EQ(cc.status, 200) << cc.body;
    RememberSecret(cc.Json().value("access_token", ""));

    // The signing key survived: the token issued before the restart still validates.
    EXPECT_EQ(Kids(again.http()), kids_before);
    Response v = again.http().PostForm("/ims/validate_token/v1", {{"type", "access_token"}},
                                       {{"Authorization", "Bearer " + token_before}});
    EXPECT_EQ(v.Json().value("valid", false), true) << v.body;
    again.StopAndCheckLog();
  }
  EXPECT_EQ(ReadJsonFile(data / "portico.json"), first_json);
}

TEST(ServeIms, StartsServesAndStopsCleanly) {
  TempDir tmp;  // DIR is the fresh folder itself: --data DIR --log-file DIR/ims.log
  const fs::path data = tmp.path();
  auto p = PorticoProcess::ServeIms(data, data / "serve.stderr");
  EXPECT_EQ(p->ready().value("service", ""), "ims");
  ASSERT_GT(p->port(), 0);
  EXPECT_EQ(p->ims_url(), "http://127.0.0.1:" + std::to_string(p->port()));
  Http http(p->ims_url());
  EXPECT_EQ(http.Get("/healthz").status, 200);
  Response keys = http.Get("/ims/keys");
  EXPECT_EQ(keys.status, 200);
  EXPECT_FALSE(keys.Json()["keys"].empty());
  EXPECT_EQ(http.Get("/.well-known/openid-configuration").Json().value("issuer", ""), p->ims_url());
  // No org and no admin exist under `serve ims` alone.
  Response login = http.PostJson(
      "/api/v1/login", {{"login", "admin@portico.local"}, {"password", "not-the-password"}});
  EXPECT_EQ(login.status, 401) << login.body;
  EXPECT_EQ(p->Stop(), 0) << p->Stderr();
  std::ifstream log(data / "ims.log");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    if (line.empty()) continue;
    ++lines;
    EXPECT_TRUE(json::parse(line, nullptr, false).is_object()) << line;
    EXPECT_EQ(line.find("not-the-password"), std::string::npos) << line;
  }
  EXPECT_GT(lines, 0);
}

// `serve ims` makes its data folder when missing (ImsService::Start creates it), so a log file
// inside that folder should work on a first start too.
TEST(ServeIms, LogFileInsideADataFolderNotYetMade) {
  TempDir tmp;
  const fs::path data = tmp.path() / "new-ims";
  auto p = PorticoProcess::ServeIms(data, tmp.path() / "serve.stderr");
  EXPECT_EQ(Http(p->ims_url()).Get("/healthz").status, 200);
  EXPECT_EQ(p->Stop(), 0) << p->Stderr();
  EXPECT_TRUE(fs::exists(data / "ims.log"));
}

}  // namespace
}  // namespace portico::it

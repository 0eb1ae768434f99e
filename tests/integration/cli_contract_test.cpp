// The CLI contract of SPEC §7 against a running `portico up`: `portico --data DIR console
// credential create --org ORG --project NAME --cert FILE.crt --json` prints exactly one JSON
// document with client_id, client_secret, technical_account_id, org_id, metascopes and
// jwt_payload (and the credential works); `--oauth` makes an OAuth server-to-server credential;
// every failure exits non-zero with one JSON {"error", "error_description"} on stdout.
#include <sys/stat.h>

#include <fstream>

#include "core/json.h"
#include "harness.h"

namespace portico::it {
namespace {

class CliContract : public ::testing::Test {
 protected:
  Ims& ims = SharedIms::Get();
  TempDir files;

  // Runs `portico --data DATA ARGS... --json` (SPEC §7's spelling), or with --json first.
  RunResult Cli(std::vector<std::string> args, bool json_first = false) {
    std::vector<std::string> argv = {PorticoBinary(), "--data", ims.data().string()};
    if (json_first) argv.insert(argv.begin() + 1, "--json");
    argv.insert(argv.end(), args.begin(), args.end());
    if (!json_first) argv.push_back("--json");
    return RunCommand(argv);
  }

  // Exactly one JSON document on stdout (and nothing else but whitespace), parsed strictly.
  static json OneDocument(const RunResult& r) {
    auto parsed = ParseStrictJson(r.out);
    EXPECT_TRUE(parsed.ok()) << "stdout is not exactly one JSON document: "
                             << parsed.status().ToString() << "\nstdout:\n"
                             << r.out << "\nstderr:\n"
                             << r.err;
    return parsed.ok() ? *parsed : json();
  }

  static void ExpectJsonError(const RunResult& r, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_NE(r.exit_code, 0) << "a failure must exit non-zero; stdout: " << r.out;
    EXPECT_EQ(r.term_signal, 0) << "the CLI crashed; stderr:\n" << r.err;
    json j = OneDocument(r);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_TRUE(j.contains("error") && j["error"].is_string() &&
                !j["error"].get<std::string>().empty())
        << r.out;
    EXPECT_TRUE(j.contains("error_description") && j["error_description"].is_string() &&
                !j["error_description"].get<std::string>().empty())
        << r.out;
  }

  fs::path WriteFile(const std::string& name, const std::string& content) {
    fs::path p = files.path() / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

TEST_F(CliContract, ServiceAccountFromACertificate) {
  KeyAndCert k = MakeRsaKeyAndCert("cli-test");
  fs::path crt = WriteFile("service.crt", k.cert_pem);
  RunResult r = Cli({"console", "credential", "create", "--org", ims.org(), "--project",
                     "cli-project", "--cert", crt.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = OneDocument(r);
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"client_id", "client_secret", "technical_account_id", "org_id",
                          "metascopes", "jwt_payload"}) {
    EXPECT_TRUE(j.contains(key)) << "missing " << key << ": " << r.out;
  }
  EXPECT_EQ(j.value("org_id", ""), ims.org());
  EXPECT_EQ(j["metascopes"], json::array({"ent_portal_sdk"}));
  RememberSecret(j.value("client_secret", ""));
  const json& payload = j["jwt_payload"];
  EXPECT_EQ(payload.value("iss", ""), ims.org());
  EXPECT_EQ(payload.value("sub", ""), j.value("technical_account_id", ""));
  EXPECT_EQ(payload.value("aud", ""), ims.url() + "/c/" + j.value("client_id", ""));
  EXPECT_EQ(payload.value(ims.url() + "/s/ent_portal_sdk", false), true);

  // The credential the CLI printed works for the JWT exchange.
  Credential cred;
  cred.client_id = j.value("client_id", "");
  cred.client_secret = j.value("client_secret", "");
  cred.technical_account_id = j.value("technical_account_id", "");
  cred.org_id = j.value("org_id", "");
  cred.signer = k;
  std::string token = ims.ExchangeOk(cred);
  EXPECT_EQ(ims.VerifyAccessToken(token).value("client_id", ""), cred.client_id);

  // The project was made with the portal API; the credential is listed, shown without its secret.
  RunResult list = Cli({"console", "credential", "list", "--project", "cli-project"});
  ASSERT_EQ(list.exit_code, 0) << list.out << list.err;
  json listed = OneDocument(list);
  ASSERT_TRUE(listed.is_array());
  bool found = false;
  for (const auto& c : listed) found |= c.value("client_id", "") == cred.client_id;
  EXPECT_TRUE(found) << list.out;
  RunResult show = Cli({"console", "credential", "show", cred.client_id});
  ASSERT_EQ(show.exit_code, 0) << show.out << show.err;
  EXPECT_FALSE(OneDocument(show).contains("client_secret")) << "secrets are shown once";
  EXPECT_EQ(show.out.find(cred.client_secret), std::string::npos);

  // The admin token the CLI keeps is private to its owner.
  struct stat st {};
  ASSERT_EQ(::stat((ims.data() / ".cli-token").c_str(), &st), 0);
  {
    std::ifstream in(ims.data() / ".cli-token");
    json cached = json::parse(in, nullptr, false);
    RememberSecret(cached.is_object() ? cached.value("access_token", "") : "");
  }
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  struct stat pj {};
  ASSERT_EQ(::stat((ims.data() / "portico.json").c_str(), &pj), 0);
  EXPECT_EQ(pj.st_mode & 0777, 0600u);

  // Deleting it through the CLI makes the exchange fail.
  RunResult del = Cli({"console", "credential", "delete", cred.client_id});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_EQ(OneDocument(del).value("deleted", ""), cred.client_id);
  ExpectOAuthError(ims.Exchange(cred, ims.GoodAssertion(cred)), 401, "invalid_client",
                   {cred.client_secret}, "a credential deleted by the CLI");
}

TEST_F(CliContract, OAuthServerToServer) {
  RunResult r = Cli({"console", "credential", "create", "--org", ims.org(), "--project",
                     "cli-oauth-project", "--oauth"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = OneDocument(r);
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"client_id", "client_secret", "technical_account_id", "org_id"}) {
    EXPECT_TRUE(j.contains(key)) << "missing " << key << ": " << r.out;
  }
  EXPECT_EQ(j.value("type", ""), "oauth_server_to_server");
  EXPECT_FALSE(j.contains("jwt_payload"));
  RememberSecret(j.value("client_secret", ""));
  Response t =
      ims.http().PostForm("/ims/token/v2", {{"grant_type", "client_credentials"},
                                            {"client_id", j.value("client_id", "")},
                                            {"client_secret", j.value("client_secret", "")},
                                            {"org_id", ims.org()},
                                            {"scope", "openid,AdobeID"}});
  ASSERT_EQ(t.status, 200) << t.body;
  RememberSecret(t.Json().value("access_token", ""));
  EXPECT_EQ(ims.VerifyAccessToken(t.Json().value("access_token", "")).value("org", ""), ims.org());

  // rotate-secret prints the new secret once; the old one stops working.
  RunResult rot = Cli({"console", "credential", "rotate-secret", j.value("client_id", "")});
  ASSERT_EQ(rot.exit_code, 0) << rot.out << rot.err;
  json rj = OneDocument(rot);
  RememberSecret(rj.value("client_secret", ""));
  EXPECT_NE(rj.value("client_secret", ""), j.value("client_secret", ""));
  Response old =
      ims.http().PostForm("/ims/token/v3", {{"grant_type", "client_credentials"},
                                            {"client_id", j.value("client_id", "")},
                                            {"client_secret", j.value("client_secret", "")}});
  ExpectOAuthError(old, 401, "invalid_client",
                   {j.value("client_secret", ""), rj.value("client_secret", "")},
                   "the secret before rotation");
}

TEST_F(CliContract, ErrorsAreOneJsonDocumentAndANonZeroExit) {
  fs::path garbage = WriteFile("garbage.crt", "this is not a certificate\n\x01\x02\x03");
  ExpectJsonError(Cli({"console", "credential", "create", "--org", ims.org(), "--project",
                       "cli-err", "--cert", garbage.string()}),
                  "a garbage certificate file");
  fs::path key_only = WriteFile("key.pem", MakeRsaKeyAndCert().key.ToPem());
  ExpectJsonError(
      Cli({"console", "credential", "create", "--project", "cli-err", "--cert", key_only.string()}),
      "a private key instead of a certificate");
  ExpectJsonError(Cli({"console", "credential", "create", "--project", "cli-err", "--cert",
                       (files.path() / "missing.crt").string()}),
                  "a certificate file that does not exist");
  ExpectJsonError(Cli({"console", "credential", "create", "--project", "cli-err"}),
                  "neither --cert nor --oauth");
  fs::path crt = WriteFile("ok.crt", MakeRsaKeyAndCert().cert_pem);
  ExpectJsonError(Cli({"console", "credential", "create", "--project", "cli-err", "--cert",
                       crt.string(), "--oauth"}),
                  "--cert and --oauth together");
  ExpectJsonError(Cli({"console", "credential", "show", "no-such-client"}), "an unknown client id");
  ExpectJsonError(Cli({"console", "credential", "create", "--org", "0000FFFF@AdobeOrg", "--project",
                       "cli-err", "--oauth"}),
                  "another org");
  ExpectJsonError(Cli({"console", "credential", "frobnicate"}, true), "an unknown subcommand");
  // The service is untouched by all this: nothing was created in the project.
  Response creds = ims.Admin("GET", "/credentials?project=cli-err");
  if (creds.status == 200) {
    EXPECT_TRUE(creds.Json().empty()) << creds.body;
  }
}

// Argument errors are JSON too. CLI11 sets `--json` only once parsing has succeeded far enough,
// and main.cpp pastes the parser's message into a JSON string without escaping it.
TEST_F(CliContract, AnUnexpectedArgumentWithQuotesIsStillValidJson) {
  ExpectJsonError(Cli({"console", "credential", "create", "--project", "p", "--oauth",
                       "unexpected \"quoted\" \\ argument"},
                      true),
                  "an unexpected argument with quotes and a backslash");
}

TEST_F(CliContract, AFlagWithoutItsValueIsAJsonError) {
  // --json comes first, so the parser has seen it before it finds --project without a value.
  ExpectJsonError(Cli({"console", "credential", "create", "--oauth", "--project"}, true),
                  "a flag without its value");
}

}  // namespace
}  // namespace portico::it

// The real client library of the commercial identity service, npm `@adobe/jwt-auth` 2.0.0
// (tests/integration/jwt_auth/get_token.js), gets a token from the real binary; the token
// verifies against the JWKS with portico_crypto (PublicKey::FromJwk, ParseJws, VerifyJws).
//
// What the library sends (read from node_modules/@adobe/jwt-auth/index.js): an RS256 assertion
// from jsonwebtoken with exp = now + 300, iss, sub, aud = `${ims}/c/${clientId}`, one
// `${ims}/s/${metascope}: true` claim per metascope and an iat, POSTed as multipart/form-data
// (the form-data package, boundary "--------------------------<24 digits>") with the fields
// client_id, client_secret, jwt_token to `${ims}/ims/exchange/jwt/` — the trailing-slash path.
#include <sys/stat.h>

#include <fstream>

#include "harness.h"

namespace portico::it {
namespace {

using namespace std::chrono_literals;

const fs::path kPackageDir = JWT_AUTH_DIR;

// Installs the package's locked dependencies unless they are there (the README's test command
// does the same).
void EnsureInstalled() {
  if (fs::exists(kPackageDir / "node_modules" / "@adobe" / "jwt-auth" / "package.json")) return;
  RunResult npm = RunCommand({"npm", "ci", "--no-audit", "--no-fund"}, {}, 600s, kPackageDir);
  ASSERT_EQ(npm.exit_code, 0) << "npm ci failed:\n" << npm.out << npm.err;
}

class JwtAuthLibrary : public ::testing::Test {
 protected:
  Ims& ims = SharedIms::Get();
  TempDir files;

  RunResult GetToken(const Credential& cred, const std::string& secret) {
    fs::path key = files.path() / "private.key";
    {
      std::ofstream out(key);
      out << cred.signer->key.ToPem();
    }
    ::chmod(key.c_str(), 0600);
    return RunCommand({"node", "get_token.js"},
                      {{"PORTICO_IMS", ims.url()},
                       {"CLIENT_ID", cred.client_id},
                       {"CLIENT_SECRET", secret},
                       {"TECHNICAL_ACCOUNT_ID", cred.technical_account_id},
                       {"ORG_ID", cred.org_id},
                       {"PRIVATE_KEY_FILE", key.string()},
                       {"METASCOPES", "ent_portal_sdk"}},
                      120s, kPackageDir);
  }

  static json LastLine(const std::string& out) {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return json::parse(s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1),
                       nullptr, false);
  }
};

TEST_F(JwtAuthLibrary, GetsATokenThatVerifiesAgainstTheJwks) {
  ASSERT_NO_FATAL_FAILURE(EnsureInstalled());
  json pkg = json::parse(
      std::ifstream(kPackageDir / "node_modules" / "@adobe" / "jwt-auth" / "package.json"), nullptr,
      false);
  EXPECT_EQ(pkg.value("version", ""), "2.0.0");

  Credential cred = ims.CreateServiceAccount();
  RunResult r = GetToken(cred, cred.client_secret);
  ASSERT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  json answer = LastLine(r.out);
  ASSERT_TRUE(answer.is_object()) << r.out;
  const std::string token = answer.value("access_token", "");
  ASSERT_FALSE(token.empty()) << r.out;
  RememberSecret(token);
  EXPECT_EQ(answer.value("token_type", ""), "bearer");
  EXPECT_GT(answer.value("expires_in", int64_t{0}), 86'000'000) << "milliseconds";

  json claims = ims.VerifyAccessToken(token);
  ASSERT_TRUE(claims.is_object());
  EXPECT_EQ(claims.value("client_id", ""), cred.client_id);
  EXPECT_EQ(claims.value("user_id", ""), cred.technical_account_id);
  EXPECT_EQ(claims.value("org", ""), ims.org());
  EXPECT_EQ(claims.value("scope", ""), "ent_portal_sdk");
  EXPECT_EQ(claims.value("type", ""), "access_token");

  // The token opens the caller's profile.
  Response profile = ims.http().Get("/ims/profile/v1", {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(profile.status, 200) << profile.body;
  EXPECT_EQ(profile.Json().value("userId", ""), cred.technical_account_id);

  // A wrong secret: the library surfaces the service's error code and description.
  const std::string wrong = "pcs-not-the-secret-of-this-client";
  RunResult bad = GetToken(cred, wrong);
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  json err = LastLine(bad.out);
  EXPECT_EQ(err.value("error", ""), "invalid_client") << bad.out;
  EXPECT_NE(err.value("error_description", "").find("client_secret"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find(wrong), std::string::npos) << "the description quotes the secret";
  EXPECT_EQ(bad.out.find(cred.client_secret), std::string::npos);

  // The library again: it works every time (its assertions carry no jti).
  RunResult again = GetToken(cred, cred.client_secret);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  RememberSecret(LastLine(again.out).value("access_token", ""));
}

}  // namespace
}  // namespace portico::it

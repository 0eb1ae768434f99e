// Every bad input of issue 9's "Bad input" list, over HTTP against the real binary. Each case
// asserts the status, the exact OAuth `error`, an `error_description` that says what is wrong
// without quoting the client secret or the token, and that nothing changed: a good request still
// works afterwards (and a refused assertion does not use up its jti).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <thread>

#include "core/crypto/encoding.h"
#include "core/crypto/random.h"
#include "harness.h"

namespace portico::it {
namespace {

constexpr const char* kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The credentials most cases share (made once per test binary, never modified).
struct Shared {
  Credential sa;  // RSA service account
  Credential ec;  // EC P-256 service account
  Credential oa;  // OAuth server-to-server
};

class BadInput : public ::testing::Test {
 protected:
  Ims& ims = SharedIms::Get();
  Shared& s = Get(ims);

  static Shared& Get(Ims& ims) {
    static Shared* shared = nullptr;
    if (!shared) {
      shared = new Shared{ims.CreateServiceAccount(), ims.CreateServiceAccount(MakeEcKeyAndCert()),
                          ims.CreateOAuth()};
    }
    return *shared;
  }

  // The secrets no answer may quote: the shared credentials' client secrets and `extra`.
  std::vector<std::string> Secrets(std::vector<std::string> extra = {}) const {
    extra.push_back(s.sa.client_secret);
    extra.push_back(s.ec.client_secret);
    extra.push_back(s.oa.client_secret);
    extra.push_back(ims.admin_token());
    return extra;
  }

  // Posts `assertion` for the shared RSA service account and expects the refusal; then checks
  // that the credential still works once.
  void ExpectRefused(const std::string& assertion, int status, const std::string& code,
                     const std::string& hint, const std::string& what,
                     const Credential* cred = nullptr) {
    if (!cred) cred = &s.sa;
    RememberSecret(assertion);
    for (bool multipart : {false, true}) {
      Response r = ims.Exchange(*cred, assertion, "/ims/exchange/jwt", multipart);
      ExpectOAuthError(r, status, code, Secrets({assertion}),
                       what + (multipart ? " (multipart)" : " (url-encoded)"));
      if (!hint.empty()) {
        std::string desc = Lower(r.Json().value("error_description", ""));
        EXPECT_NE(desc.find(Lower(hint)), std::string::npos)
            << what << ": the description should name the fault (" << hint << "): " << r.body;
      }
    }
    // The same assertion on the RFC 7523 grant is refused the same way.
    Response v3 = ims.http().PostForm("/ims/token/v3", {{"grant_type", kJwtBearer},
                                                        {"client_id", cred->client_id},
                                                        {"client_secret", cred->client_secret},
                                                        {"assertion", assertion}});
    ExpectOAuthError(v3, status, code, Secrets({assertion}), what + " (/ims/token/v3)");
    ims.ExchangeOk(*cred);
  }

  json Claims(const Credential& c) const { return ims.GoodClaims(c); }
  json Claims() const { return ims.GoodClaims(s.sa); }
  std::string SignSa(const json& header, const json& claims) const {
    return Sign(s.sa.signer->key, header, claims);
  }
};

TEST_F(BadInput, AlgNoneInAnyLetterCase) {
  const json claims = Claims();
  const std::string good = SignSa({{"typ", "JWT"}}, claims);
  const std::string good_sig = JwsParts(good)[2];
  for (std::string alg : {"none", "None", "NONE", "nOnE", "rs256", "Rs256"}) {
    const std::string unsigned_input =
        B64Url(json{{"alg", alg}, {"typ", "JWT"}}.dump()) + "." + B64Url(claims.dump());
    // With an empty signature, as alg none prescribes, and with a real RS256 signature attached.
    ExpectRefused(unsigned_input + ".", 400, "invalid_grant", "", "alg " + alg + ", no signature");
    ExpectRefused(unsigned_input + "." + good_sig, 400, "invalid_grant", "alg",
                  "alg " + alg + ", a signature attached");
  }
  // No alg at all.
  ExpectRefused(B64Url(json{{"typ", "JWT"}}.dump()) + "." + B64Url(claims.dump()) + "." + good_sig,
                400, "invalid_grant", "alg", "no alg");
}

TEST_F(BadInput, Hs256SignedWithTheCertificatesPublicKey) {
  // The classic algorithm confusion: the public key (which an attacker has) as an HMAC secret.
  const std::string spki = s.sa.signer->key.public_key().ToPem();
  for (const auto& [what, secret] : std::vector<std::pair<std::string, std::string>>{
           {"SPKI PEM", spki},
           {"certificate PEM", s.sa.signer->cert_pem},
           {"SPKI PEM without newline", spki.substr(0, spki.size() - 1)}}) {
    ExpectRefused(SignHs256(secret, {{"typ", "JWT"}}, Claims()), 400, "invalid_grant", "HS256",
                  "HS256 with the " + what);
    ExpectRefused(SignHs256(secret, {{"typ", "JWT"}, {"kid", s.sa.signer->fingerprint}}, Claims()),
                  400, "invalid_grant", "HS256", "HS256 with the " + what + " and its kid");
  }
}

TEST_F(BadInput, Rs256ByAnUnregisteredKey) {
  KeyAndCert stranger = MakeRsaKeyAndCert("stranger");
  ExpectRefused(Sign(stranger.key, {{"typ", "JWT"}}, Claims()), 400, "invalid_grant", "signature",
                "RS256 by an unregistered key");
  // ...even when its kid names the credential's certificate.
  ExpectRefused(Sign(stranger.key, {{"kid", s.sa.signer->fingerprint}}, Claims()), 400,
                "invalid_grant", "signature", "RS256 by an unregistered key, with the right kid");
  // An ES256 signature on an RSA credential (header says ES256).
  KeyAndCert ec = MakeEcKeyAndCert("stranger-ec");
  ExpectRefused(Sign(ec.key, {{"typ", "JWT"}}, Claims()), 400, "invalid_grant", "",
                "ES256 by an unregistered key on an RSA credential");
}

TEST_F(BadInput, SignatureCutShortOrFlipped) {
  const std::string good = SignSa({{"typ", "JWT"}}, Claims());
  const std::string sig = B64UrlDecode(JwsParts(good)[2]);
  ASSERT_EQ(sig.size(), 256u);
  ExpectRefused(WithSignature(good, sig.substr(0, 128)), 400, "invalid_grant", "signature",
                "signature cut to half");
  ExpectRefused(WithSignature(good, sig.substr(0, 255)), 400, "invalid_grant", "signature",
                "signature one byte short");
  ExpectRefused(WithSignature(good, sig.substr(1)), 400, "invalid_grant", "signature",
                "signature missing its first byte");
  ExpectRefused(good.substr(0, good.rfind('.') + 1), 400, "invalid_grant", "signature",
                "signature empty");
  ExpectRefused(good.substr(0, good.rfind('.')), 400, "invalid_grant", "", "signature part gone");
  for (size_t at : {size_t{0}, size_t{100}, size_t{255}}) {
    std::string flipped = sig;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x80);
    ExpectRefused(WithSignature(good, flipped), 400, "invalid_grant", "signature",
                  "signature byte " + std::to_string(at) + " flipped");
  }
  std::string inverted = sig;
  for (char& c : inverted) c = static_cast<char>(~c);
  ExpectRefused(WithSignature(good, inverted), 400, "invalid_grant", "signature",
                "every signature byte flipped");
  // A claim changed after signing.
  json changed = Claims();
  changed["exp"] = NowSeconds() + 200;
  auto parts = JwsParts(good);
  ExpectRefused(parts[0] + "." + B64Url(changed.dump()) + "." + parts[2], 400, "invalid_grant",
                "signature", "payload changed after signing");
}

TEST_F(BadInput, UnknownKid) {
  ExpectRefused(SignSa({{"kid", "no-such-key"}}, Claims()), 400, "invalid_grant", "kid",
                "unknown kid");
  // The fingerprint of another credential's certificate.
  ExpectRefused(SignSa({{"kid", s.ec.signer->fingerprint}}, Claims()), 400, "invalid_grant", "kid",
                "kid of another credential's certificate");
  ExpectRefused(SignSa({{"kid", 42}}, Claims()), 400, "invalid_grant", "kid", "numeric kid");
}

TEST_F(BadInput, ExpiredNotYetValidIatInTheFuture) {
  const int64_t now = NowSeconds();
  json c = Claims();
  c["exp"] = now - 3600;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "expired", "expired an hour ago");
  c = Claims();
  c["nbf"] = now + 3600;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "nbf", "not yet valid (nbf in an hour)");
  c = Claims();
  c["iat"] = now + 3600;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "iat", "iat an hour in the future");
  c = Claims();
  c["iat"] = now + 10LL * 365 * 24 * 3600;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "iat", "iat ten years in the future");
  c = Claims();
  c["exp"] = now + 30LL * 24 * 3600;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "exp", "exp a month ahead");
  c = Claims();
  c.erase("exp");
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "exp", "no exp");
  c = Claims();
  c["exp"] = std::to_string(now + 300);
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "exp", "exp as a string");
  c = Claims();
  c["exp"] = 1e300;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "exp", "exp out of range");
}

TEST_F(BadInput, WrongAudIssSub) {
  json c = Claims();
  c["aud"] = ims.url() + "/c/" + s.oa.client_id;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "aud", "aud of another client");
  c["aud"] = "https://ims-na1.adobelogin.com/c/" + s.sa.client_id;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "aud", "aud of another identity service");
  c["aud"] = json::array({"https://elsewhere.example/c/x"});
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "aud", "aud array without ours");
  c.erase("aud");
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "aud", "no aud");
  c = Claims();
  c["iss"] = "0000FFFF@AdobeOrg";
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "iss", "iss of another org");
  c.erase("iss");
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "iss", "no iss");
  c = Claims();
  c["sub"] = s.ec.technical_account_id;
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "sub",
                "sub of another credential's technical account");
  c["sub"] = json::array({s.sa.technical_account_id});
  ExpectRefused(SignSa({}, c), 400, "invalid_grant", "sub", "sub as an array");
}

TEST_F(BadInput, NoMetascopeOrOneTheCredentialDoesNotHold) {
  json c = Claims();
  c.erase(ims.url() + "/s/ent_portal_sdk");
  ExpectRefused(SignSa({}, c), 400, "invalid_scope", "metascope", "no metascope");
  json held = Claims();
  held[ims.url() + "/s/read_organizations"] = true;
  ExpectRefused(SignSa({}, held), 400, "invalid_scope", "metascope",
                "an OAuth scope as a metascope, beside a held one");
  c[ims.url() + "/s/ims_admin"] = true;
  ExpectRefused(SignSa({}, c), 400, "invalid_scope", "metascope", "the admin scope as a metascope");
  c = Claims();
  c.erase(ims.url() + "/s/ent_portal_sdk");
  c["https://ims-na1.adobelogin.com/s/ent_portal_sdk"] = true;
  ExpectRefused(SignSa({}, c), 400, "invalid_scope", "metascope",
                "a metascope addressed to another identity service");
  c = Claims();
  c[ims.url() + "/s/ent_portal_sdk"] = false;
  ExpectRefused(SignSa({}, c), 400, "invalid_scope", "metascope", "metascope claim false");
}

TEST_F(BadInput, ReplayedJtiAndARefusedRequestDoesNotUseItUp) {
  json c = Claims();
  c["jti"] = crypto::RandomHex(16);
  const std::string assertion = SignSa({}, c);
  RememberSecret(assertion);
  // A refusal for another reason (a wrong secret, a wrong aud) does not record the jti...
  Credential wrong = s.sa;
  wrong.client_secret = "pcs-wrong-" + crypto::RandomToken(16);
  ExpectOAuthError(ims.Exchange(wrong, assertion), 401, "invalid_client", Secrets({assertion}),
                   "wrong secret first");
  json bad_aud = c;
  bad_aud["aud"] = ims.url() + "/c/other";
  ExpectOAuthError(ims.Exchange(s.sa, SignSa({}, bad_aud)), 400, "invalid_grant",
                   Secrets({assertion}), "wrong aud with the same jti");
  // ...so the good assertion with that jti works once...
  Response first = ims.Exchange(s.sa, assertion);
  ASSERT_EQ(first.status, 200) << first.body;
  RememberSecret(first.Json().value("access_token", ""));
  // ...and not twice: not the same assertion, not a fresh one with the same jti, not on v3.
  ExpectRefused(assertion, 400, "invalid_grant", "jti", "the same assertion replayed");
  json again = Claims();
  again["jti"] = c["jti"];
  again["exp"] = NowSeconds() + 250;
  ExpectRefused(SignSa({}, again), 400, "invalid_grant", "jti", "a new assertion with a used jti");
  // A jti is per client: another credential may use the same value.
  json other = Claims(s.ec);
  other["jti"] = c["jti"];
  std::string ec_assertion = Sign(s.ec.signer->key, {}, other);
  RememberSecret(ec_assertion);
  Response ec = ims.Exchange(s.ec, ec_assertion);
  EXPECT_EQ(ec.status, 200) << ec.body;
  RememberSecret(ec.Json().value("access_token", ""));
  // Malformed jti values.
  for (const json& bad : {json(42), json(""), json(std::string(300, 'j'))}) {
    json m = Claims();
    m["jti"] = bad;
    ExpectRefused(SignSa({}, m), 400, "invalid_grant", "jti", "jti " + bad.dump().substr(0, 20));
  }
}

TEST_F(BadInput, ConcurrentReplaysOfOneAssertionSucceedOnce) {
  const std::string assertion = ims.GoodAssertion(s.sa);  // carries a jti
  constexpr int kClients = 8;
  std::vector<Response> answers(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      try {
        Http own(ims.url());
        answers[i] = own.PostForm("/ims/exchange/jwt", {{"client_id", s.sa.client_id},
                                                        {"client_secret", s.sa.client_secret},
                                                        {"jwt_token", assertion}});
      } catch (const std::exception& e) {
        answers[i].body = e.what();
      }
    });
  }
  for (auto& t : clients) t.join();
  int ok = 0;
  for (const auto& r : answers) {
    if (r.status == 200) {
      ++ok;
      RememberSecret(r.Json().value("access_token", ""));
    } else {
      ExpectOAuthError(r, 400, "invalid_grant", Secrets({assertion}), "a concurrent replay");
    }
  }
  EXPECT_EQ(ok, 1) << "one assertion (one jti) must buy exactly one token";
  ims.ExchangeOk(s.sa);
}

TEST_F(BadInput, DeletedCredential) {
  Credential doomed = ims.CreateServiceAccount();
  std::string token = ims.ExchangeOk(doomed);
  std::string assertion = ims.GoodAssertion(doomed);
  ASSERT_EQ(ims.Admin("DELETE", "/credentials/" + doomed.client_id).status, 204);
  ExpectOAuthError(ims.Exchange(doomed, assertion), 401, "invalid_client",
                   Secrets({assertion, doomed.client_secret}), "deleted credential");
  // Its tokens stop working too.
  Response v = ims.http().PostForm("/ims/validate_token/v1", {{"type", "access_token"}},
                                   {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(v.Json().value("valid", true), false) << v.body;
  EXPECT_EQ(ims.http().Get("/ims/profile/v1", {{"Authorization", "Bearer " + token}}).status, 401);
  // Deleting twice is a 404, and the other credentials are untouched.
  EXPECT_EQ(ims.Admin("DELETE", "/credentials/" + doomed.client_id).status, 404);
  ims.ExchangeOk(s.sa);
}

TEST_F(BadInput, RotatedOutCertificate) {
  Credential cred = ims.CreateServiceAccount();
  KeyAndCert old_key = *cred.signer;
  KeyAndCert new_key = MakeRsaKeyAndCert("rotated-in");
  Response added = ims.Admin("POST", "/credentials/" + cred.client_id + "/certificates",
                             json{{"certificate", new_key.cert_pem}});
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.Json()["certificates"].size(), 2u) << added.body;
  // During the overlap both keys work.
  ims.ExchangeOk(cred);
  Credential with_new = cred;
  with_new.signer = new_key;
  ims.ExchangeOk(with_new);
  // A third certificate is refused (at most two), and changes nothing.
  KeyAndCert third = MakeRsaKeyAndCert("third");
  Response too_many = ims.Admin("POST", "/credentials/" + cred.client_id + "/certificates",
                                json{{"certificate", third.cert_pem}});
  EXPECT_EQ(too_many.status, 409) << too_many.body;

  Response removed = ims.Admin(
      "DELETE", "/credentials/" + cred.client_id + "/certificates/" + old_key.fingerprint);
  ASSERT_EQ(removed.status, 200) << removed.body;
  ASSERT_EQ(removed.Json()["certificates"].size(), 1u) << removed.body;
  EXPECT_EQ(removed.Json()["certificates"][0].value("fingerprint", ""), new_key.fingerprint);

  // The old key is refused, with or without its kid; the new one works.
  ExpectRefused(Sign(old_key.key, {}, Claims(cred)), 400, "invalid_grant", "signature",
                "assertion signed by the rotated-out key", &with_new);
  ExpectRefused(Sign(old_key.key, {{"kid", old_key.fingerprint}}, Claims(cred)), 400,
                "invalid_grant", "kid", "rotated-out key named by its kid", &with_new);
  ims.ExchangeOk(with_new);
  // The last certificate cannot be removed.
  EXPECT_EQ(
      ims.Admin("DELETE", "/credentials/" + cred.client_id + "/certificates/" + new_key.fingerprint)
          .status,
      409);
  ims.ExchangeOk(with_new);
}

TEST_F(BadInput, WrongClientSecret) {
  const std::string assertion = ims.GoodAssertion(s.sa);
  for (const std::string& wrong :
       {s.sa.client_secret + "x", s.sa.client_secret.substr(0, s.sa.client_secret.size() - 1),
        s.oa.client_secret, std::string("pcs-") + crypto::RandomToken(32), std::string(600, 's')}) {
    Credential w = s.sa;
    w.client_secret = wrong;
    for (bool multipart : {false, true}) {
      Response r = ims.Exchange(w, assertion, "/ims/exchange/jwt", multipart);
      // An over-long secret is a malformed request rather than a wrong one.
      if (wrong.size() > 512) {
        ExpectOAuthError(r, 400, "invalid_request", Secrets({assertion, wrong}), "secret too long");
      } else {
        ExpectOAuthError(r, 401, "invalid_client", Secrets({assertion, wrong}),
                         "wrong client secret");
        EXPECT_TRUE(r.headers.Get("WWW-Authenticate").has_value());
      }
    }
  }
  // No secret at all.
  Credential none = s.sa;
  none.client_secret = "";
  ExpectOAuthError(ims.Exchange(none, assertion), 400, "invalid_request", Secrets({assertion}),
                   "no client secret");
  // client_credentials with a wrong secret, and with Basic.
  ExpectOAuthError(ims.http().PostForm("/ims/token/v3", {{"grant_type", "client_credentials"},
                                                         {"client_id", s.oa.client_id},
                                                         {"client_secret", "pcs-nope"}}),
                   401, "invalid_client", Secrets(), "client_credentials, wrong secret");
  ExpectOAuthError(
      ims.http().PostForm(
          "/ims/token/v3", {{"grant_type", "client_credentials"}},
          {{"Authorization", "Basic " + crypto::Base64Encode(s.oa.client_id + ":pcs-nope")}}),
      401, "invalid_client", Secrets(), "client_credentials, wrong secret by Basic");
  // The refused assertion (no jti consumed, nothing recorded) still works with the right secret.
  Response ok = ims.Exchange(s.sa, assertion);
  EXPECT_EQ(ok.status, 200) << ok.body;
  RememberSecret(ok.Json().value("access_token", ""));
}

TEST_F(BadInput, RotatedSecretStopsTheOldOne) {
  Credential cred = ims.CreateServiceAccount();
  Response rotated = ims.Admin("POST", "/credentials/" + cred.client_id + "/secret");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  Credential fresh = cred;
  fresh.client_secret = rotated.Json().value("client_secret", "");
  RememberSecret(fresh.client_secret);
  ASSERT_NE(fresh.client_secret, cred.client_secret);
  ExpectOAuthError(ims.Exchange(cred, ims.GoodAssertion(cred)), 401, "invalid_client",
                   Secrets({cred.client_secret, fresh.client_secret}), "the rotated-out secret");
  ims.ExchangeOk(fresh);
}

TEST_F(BadInput, ClientIdOfAnotherKindOrOrg) {
  // Only one org exists under `portico up`: an OAuth credential's id (and secret) on the JWT
  // exchange, a service account's on client_credentials, and an org_id of another org on v2.
  Credential oauth_as_jwt = s.oa;
  oauth_as_jwt.signer = s.sa.signer;
  json c = Claims(s.oa);
  std::string assertion = Sign(s.sa.signer->key, {}, c);
  RememberSecret(assertion);
  ExpectOAuthError(ims.Exchange(oauth_as_jwt, assertion), 401, "invalid_client",
                   Secrets({assertion}), "an OAuth client's id on the JWT exchange");
  ExpectOAuthError(ims.http().PostForm("/ims/token/v3", {{"grant_type", "client_credentials"},
                                                         {"client_id", s.sa.client_id},
                                                         {"client_secret", s.sa.client_secret}}),
                   401, "invalid_client", Secrets(), "a service account on client_credentials");
  ExpectOAuthError(ims.http().PostForm("/ims/token/v2", {{"grant_type", "client_credentials"},
                                                         {"client_id", s.oa.client_id},
                                                         {"client_secret", s.oa.client_secret},
                                                         {"org_id", "0000FFFF@AdobeOrg"},
                                                         {"scope", "openid"}}),
                   401, "invalid_client", Secrets(), "org_id of another org on /ims/token/v2");
  // A client id that exists nowhere (e.g. of another deployment).
  Credential unknown = s.sa;
  unknown.client_id = crypto::RandomHex(16);
  ExpectOAuthError(ims.Exchange(unknown, ims.GoodAssertion(s.sa)), 401, "invalid_client", Secrets(),
                   "unknown client id");
  unknown.client_id = std::string(300, 'c');
  ExpectOAuthError(ims.Exchange(unknown, ims.GoodAssertion(s.sa)), 400, "invalid_request",
                   Secrets(), "client id too long");
  // A scope the OAuth credential does not hold.
  ExpectOAuthError(ims.http().PostForm("/ims/token/v2", {{"grant_type", "client_credentials"},
                                                         {"client_id", s.oa.client_id},
                                                         {"client_secret", s.oa.client_secret},
                                                         {"org_id", ims.org()},
                                                         {"scope", "openid,ims_admin"}}),
                   400, "invalid_scope", Secrets(), "a scope not held");
  ims.ExchangeOk(s.sa);
  Response cc = ims.http().PostForm("/ims/token/v2", {{"grant_type", "client_credentials"},
                                                      {"client_id", s.oa.client_id},
                                                      {"client_secret", s.oa.client_secret},
                                                      {"org_id", ims.org()},
                                                      {"scope", "openid"}});
  EXPECT_EQ(cc.status, 200) << cc.body;
  RememberSecret(cc.Json().value("access_token", ""));
}

TEST_F(BadInput, OversizedTokenAndBody) {
  // A token over 16 KiB (signed, otherwise good).
  json c = Claims();
  c["padding"] = std::string(17 * 1024, 'p');
  ExpectRefused(SignSa({}, c), 400, "invalid_request", "bytes", "assertion over 16 KiB");

  // A form over the token endpoints' 64 KiB form limit, under the route's 1 MiB body limit.
  const std::string assertion = ims.GoodAssertion(s.sa);
  Fields big = {{"client_id", s.sa.client_id},
                {"client_secret", s.sa.client_secret},
                {"jwt_token", assertion},
                {"filler", std::string(200 * 1024, 'f')}};
  ExpectOAuthError(ims.http().PostForm("/ims/exchange/jwt", big), 400, "invalid_request",
                   Secrets({assertion}), "url-encoded form of 200 KiB");
  ExpectOAuthError(ims.http().PostMultipart("/ims/exchange/jwt", big), 400, "invalid_request",
                   Secrets({assertion}), "multipart form of 200 KiB");

  // A body over the route's 1 MiB limit: the server answers 413 (payload_too_large, not an OAuth
  // code) from the Content-Length alone, before reading the body, and closes the connection.
  {
    RawConnection conn(ims.process().port());
    ASSERT_TRUE(conn.Send(
        "POST /ims/exchange/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2097152\r\n\r\n"));
    std::string raw = conn.ReadResponse(std::chrono::seconds(30));
    Note("Content-Length 2 MiB -> " + raw.substr(0, raw.find("\r\n")) + " " + BodyOf(raw));
    EXPECT_EQ(StatusOf(raw), 413) << raw;
    json body = json::parse(BodyOf(raw), nullptr, false);
    EXPECT_EQ(body.value("error", ""), "payload_too_large") << raw;
    EXPECT_TRUE(conn.ClosedByPeer(std::chrono::seconds(30)));
  }
  // The same body sent whole by an ordinary client, in a chunked encoding (no Content-Length):
  // the server stops reading at 1 MiB and answers 413; the client may see the connection close
  // while it still sends, but if it gets an answer, that is the 413.
  {
    RawConnection conn(ims.process().port());
    ASSERT_TRUE(conn.Send(
        "POST /ims/exchange/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::thread sender([&conn] {
      std::string chunk(64 * 1024, 'a');
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
      for (int i = 0; i < 32; ++i) {
        if (!conn.Send(std::string(size_line) + chunk + "\r\n")) return;
      }
      conn.Send("0\r\n\r\n");
    });
    std::string raw = conn.ReadResponse(std::chrono::seconds(30));
    sender.join();
    Note("chunked 2 MiB body -> " + raw.substr(0, raw.find("\r\n")) + " " + BodyOf(raw));
    if (!raw.empty()) {
      EXPECT_EQ(StatusOf(raw), 413) << raw.substr(0, 300);
    }
  }
  ims.ExchangeOk(s.sa);
}

TEST_F(BadInput, InvalidBase64url) {
  const std::string good = SignSa({{"typ", "JWT"}}, Claims());
  auto p = JwsParts(good);
  auto std_b64 = [](std::string s) {  // base64url turned into standard base64 with padding
    std::replace(s.begin(), s.end(), '-', '+');
    std::replace(s.begin(), s.end(), '_', '/');
    while (s.size() % 4) s += '=';
    return s;
  };
  ExpectRefused(p[0] + "=." + p[1] + "." + p[2], 400, "invalid_grant", "base64",
                "header with padding");
  ExpectRefused(p[0] + "." + p[1] + "." + std_b64(p[2]), 400, "invalid_grant", "",
                "signature in standard base64 with padding");
  ExpectRefused("*" + p[0].substr(1) + "." + p[1] + "." + p[2], 400, "invalid_grant", "base64",
                "header with a '*'");
  ExpectRefused(p[0] + "." + p[1].substr(0, 10) + " " + p[1].substr(10) + "." + p[2], 400,
                "invalid_grant", "", "payload with a space");
  std::string dangling = p[1] + "x";  // a length of 4k+1 is never base64url
  while (dangling.size() % 4 != 1) dangling += 'x';
  ExpectRefused(p[0] + "." + dangling + "." + p[2], 400, "invalid_grant", "base64",
                "payload with a dangling character");
  ExpectRefused(p[0] + "." + p[1] + "." + p[2] + "." + p[2], 400, "invalid_grant", "three",
                "four parts");
  ExpectRefused("not-a-jwt-at-all", 400, "invalid_grant", "", "no dots");
  ExpectRefused("..", 400, "invalid_grant", "", "empty parts");
}

TEST_F(BadInput, InvalidJsonInTheHeaderOrPayload) {
  const std::string claims = Claims().dump();
  const auto& key = s.sa.signer->key;
  ExpectRefused(SignRaw(key, R"({"alg":"RS256")", claims), 400, "invalid_grant", "header",
                "header JSON cut short");
  ExpectRefused(SignRaw(key, R"({alg:"RS256"})", claims), 400, "invalid_grant", "header",
                "header with an unquoted name");
  ExpectRefused(SignRaw(key, R"(["RS256"])", claims), 400, "invalid_grant", "header",
                "header that is an array");
  ExpectRefused(SignRaw(key, "{\"alg\":\"RS256\",\"typ\":\"JWT\xff\"}", claims), 400,
                "invalid_grant", "header", "header with invalid UTF-8");
  ExpectRefused(SignRaw(key, R"({"alg":"RS256"})", claims.substr(0, claims.size() - 1)), 400,
                "invalid_grant", "payload", "payload JSON cut short");
  ExpectRefused(SignRaw(key, R"({"alg":"RS256"})", claims + " {}"), 400, "invalid_grant", "payload",
                "payload followed by a second value");
  ExpectRefused(SignRaw(key, R"({"alg":"RS256"})", "\"just a string\""), 400, "invalid_grant",
                "payload", "payload that is a string");
  ExpectRefused(SignRaw(key, R"({"alg":"RS256"})", std::string(40, '[') + std::string(40, ']')),
                400, "invalid_grant", "payload", "payload nested 40 deep");
  ExpectRefused(SignRaw(key, R"({"alg":"RS256"})", ""), 400, "invalid_grant", "payload",
                "empty payload");
}

TEST_F(BadInput, DuplicateClaims) {
  const auto& key = s.sa.signer->key;
  json c = Claims();
  const std::string base = c.dump();  // {"aud":...,"exp":...,...}
  const std::string body = base.substr(1);
  // The right value first and a wrong one last (what a last-wins parser would use), and the
  // other way round.
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, json>>{{"sub", s.ec.technical_account_id},
                                                 {"iss", "0000FFFF@AdobeOrg"},
                                                 {"exp", NowSeconds() + 100000000},
                                                 {"aud", ims.url() + "/c/" + s.ec.client_id}}) {
    const std::string dup = "\"" + name + "\":" + value.dump();
    ExpectRefused(
        SignRaw(key, R"({"alg":"RS256"})", "{" + body.substr(0, body.size() - 1) + "," + dup + "}"),
        400, "invalid_grant", "payload", "duplicate " + name + " claim, wrong one last");
    ExpectRefused(SignRaw(key, R"({"alg":"RS256"})", "{" + dup + "," + body), 400, "invalid_grant",
                  "payload", "duplicate " + name + " claim, wrong one first");
  }
  // The very same claim twice with the same value.
  ExpectRefused(
      SignRaw(key, R"({"alg":"RS256"})", "{\"iss\":" + json(s.sa.org_id).dump() + "," + body), 400,
      "invalid_grant", "payload", "the same claim twice");
}

TEST_F(BadInput, DuplicateHeaderFields) {
  const auto& key = s.sa.signer->key;
  const std::string claims = Claims().dump();
  for (const std::string& header : std::vector<std::string>{
           R"({"alg":"RS256","alg":"none"})", R"({"alg":"none","alg":"RS256"})",
           R"({"alg":"RS256","alg":"RS256"})",
           R"({"alg":"RS256","kid":"nope","kid":")" + s.sa.signer->fingerprint + "\"}",
           R"({"alg":"RS256","typ":"JWT","typ":"JWT"})"}) {
    ExpectRefused(SignRaw(key, header, claims), 400, "invalid_grant", "header",
                  "header " + header.substr(0, 40));
  }
  // Duplicate HTTP header fields (raw socket: the HTTP client merges repeated fields): two
  // Content-Types on a token request, two Authorizations on a bearer route.
  const std::string assertion = ims.GoodAssertion(s.sa);
  const std::string form = http::EncodeForm({{"client_id", s.sa.client_id},
                                             {"client_secret", s.sa.client_secret},
                                             {"jwt_token", assertion}});
  {
    RawConnection conn(ims.process().port());
    conn.Send(
        "POST /ims/exchange/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        "Content-Length: " +
        std::to_string(form.size()) + "\r\n\r\n" + form);
    std::string raw = conn.ReadResponse(std::chrono::seconds(30));
    Response r{StatusOf(raw), {}, BodyOf(raw)};
    ExpectOAuthError(r, 400, "invalid_request", Secrets({assertion}), "two Content-Type headers");
    EXPECT_NE(r.body.find("Content-Type"), std::string::npos) << r.body;
  }
  {
    std::string token = ims.ExchangeOk(s.sa);
    RawConnection conn(ims.process().port());
    conn.Send("GET /ims/profile/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
              "\r\nAuthorization: Bearer " + token + "x\r\n\r\n");
    std::string raw = conn.ReadResponse(std::chrono::seconds(30));
    Response r{StatusOf(raw), {}, BodyOf(raw)};
    ExpectOAuthError(r, 401, "invalid_token", Secrets({token}), "two Authorization headers");
  }
  // The assertion was not used up by the refused request.
  Response ok = ims.Exchange(s.sa, assertion);
  EXPECT_EQ(ok.status, 200) << ok.body;
  RememberSecret(ok.Json().value("access_token", ""));
  ims.ExchangeOk(s.sa);
}

TEST_F(BadInput, CritHeader) {
  ExpectRefused(SignSa({{"crit", {"exp"}}}, Claims()), 400, "invalid_grant", "crit",
                "crit naming exp");
  ExpectRefused(SignSa({{"crit", {"b64"}}, {"b64", false}}, Claims()), 400, "invalid_grant", "crit",
                "crit b64 (unencoded payload)");
  ExpectRefused(SignSa({{"crit", json::array()}}, Claims()), 400, "invalid_grant", "crit",
                "empty crit");
}

// A listening socket that counts the connections made to it: a token's jku or x5u pointing here
// must never be followed.
class Trap {
 public:
  Trap() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Trap() { ::close(fd_); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int Connections() {
    int n = 0;
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return n;
      ::close(c);
      ++n;
    }
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(BadInput, JkuX5uAndEmbeddedJwkAreNeverFollowedOrTrusted) {
  Trap trap;
  KeyAndCert attacker = MakeRsaKeyAndCert("attacker");
  const json claims = Claims();
  // Signed by the attacker's key, which the header offers in every way a header can.
  ExpectRefused(Sign(attacker.key, {{"jku", trap.url("/jwks.json")}}, claims), 400, "invalid_grant",
                "jku", "jku to the attacker's JWKS");
  ExpectRefused(Sign(attacker.key, {{"x5u", trap.url("/cert.pem")}}, claims), 400, "invalid_grant",
                "x5u", "x5u to the attacker's certificate");
  ExpectRefused(Sign(attacker.key, {{"jwk", attacker.key.public_key().ToJwk("k")}}, claims), 400,
                "invalid_grant", "jwk", "the attacker's key embedded as jwk");
  std::string der_b64;
  {
    std::string pem = attacker.cert_pem;
    for (const std::string& marker :
         {std::string("-----BEGIN CERTIFICATE-----"), std::string("-----END CERTIFICATE-----")})
      pem.erase(pem.find(marker), marker.size());
    for (char ch : pem)
      if (!std::isspace(static_cast<unsigned char>(ch))) der_b64 += ch;
  }
  ExpectRefused(Sign(attacker.key, {{"x5c", {der_b64}}}, claims), 400, "invalid_grant", "x5c",
                "the attacker's certificate embedded as x5c");
  // Even with the credential's own key (a good signature), such headers are refused.
  ExpectRefused(SignSa({{"jku", trap.url("/jwks.json")}}, claims), 400, "invalid_grant", "jku",
                "jku on an otherwise good assertion");
  ExpectRefused(SignSa({{"jwk", s.sa.signer->key.public_key().ToJwk("k")}}, claims), 400,
                "invalid_grant", "jwk", "the credential's own key as jwk");
  EXPECT_EQ(trap.Connections(), 0) << "the service fetched a URL named by a token";
}

TEST_F(BadInput, Es256SignatureWithRorSZero) {
  const auto& key = s.ec.signer->key;
  const std::string good = Sign(key, {{"typ", "JWT"}}, Claims(s.ec));
  const std::string sig = B64UrlDecode(JwsParts(good)[2]);
  ASSERT_EQ(sig.size(), 64u);
  const std::string zero(32, '\0');
  // The curve order n of P-256: r or s equal to n is as invalid as zero.
  const std::string n_bytes = B64UrlDecode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");
  ASSERT_EQ(n_bytes.size(), 32u);
  ExpectRefused(WithSignature(good, zero + sig.substr(32)), 400, "invalid_grant", "", "r = 0",
                &s.ec);
  ExpectRefused(WithSignature(good, sig.substr(0, 32) + zero), 400, "invalid_grant", "", "s = 0",
                &s.ec);
  ExpectRefused(WithSignature(good, zero + zero), 400, "invalid_grant", "", "r = s = 0", &s.ec);
  ExpectRefused(WithSignature(good, n_bytes + sig.substr(32)), 400, "invalid_grant", "", "r = n",
                &s.ec);
  ExpectRefused(WithSignature(good, sig.substr(0, 32) + n_bytes), 400, "invalid_grant", "", "s = n",
                &s.ec);
  ExpectRefused(WithSignature(good, sig + sig), 400, "invalid_grant", "",
                "a 128-byte ES256 signature", &s.ec);
  ExpectRefused(WithSignature(good, sig.substr(0, 63)), 400, "invalid_grant", "",
                "a 63-byte ES256 signature", &s.ec);
  // The "psychic signature" shape: r = s = 0 with the alg of the key, no kid.
  ExpectRefused(
      B64Url(R"({"alg":"ES256"})") + "." + B64Url(Claims(s.ec).dump()) + "." + B64Url(zero + zero),
      400, "invalid_grant", "", "psychic signature", &s.ec);
  // An RS256 signature by the RSA credential's key on the EC credential.
  ExpectRefused(SignSa({}, Claims(s.ec)), 400, "invalid_grant", "", "RS256 on an EC credential",
                &s.ec);
}

TEST_F(BadInput, GrantTypeMissingOrUnknown) {
  // A missing grant_type is a missing required parameter: RFC 6749 §5.2 says invalid_request.
  for (const char* path : {"/ims/token/v2", "/ims/token/v3"}) {
    ExpectOAuthError(ims.http().PostForm(path, {{"client_id", s.oa.client_id},
                                                {"client_secret", s.oa.client_secret}}),
                     400, "invalid_request", Secrets(), std::string(path) + " without grant_type");
    for (const char* grant : {"password", "authorization_code", "refresh_token", "implicit",
                              "CLIENT_CREDENTIALS", "client_credentials "}) {
      ExpectOAuthError(ims.http().PostForm(path, {{"grant_type", grant},
                                                  {"client_id", s.oa.client_id},
                                                  {"client_secret", s.oa.client_secret}}),
                       400, "unsupported_grant_type", Secrets(),
                       std::string(path) + " grant_type " + grant);
    }
  }
  // The JWT-bearer grant is a v3 grant only.
  const std::string assertion = ims.GoodAssertion(s.sa);
  ExpectOAuthError(ims.http().PostForm("/ims/token/v2", {{"grant_type", kJwtBearer},
                                                         {"client_id", s.sa.client_id},
                                                         {"client_secret", s.sa.client_secret},
                                                         {"assertion", assertion}}),
                   400, "unsupported_grant_type", Secrets({assertion}), "jwt-bearer on v2");
  // Not recorded: the same assertion works on v3.
  Response ok = ims.http().PostForm("/ims/token/v3", {{"grant_type", kJwtBearer},
                                                      {"client_id", s.sa.client_id},
                                                      {"client_secret", s.sa.client_secret},
                                                      {"assertion", assertion}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  RememberSecret(ok.Json().value("access_token", ""));
}

TEST_F(BadInput, RepeatedFormParameters) {
  const std::string assertion = ims.GoodAssertion(s.sa);
  const std::string other = ims.GoodAssertion(s.sa);
  const std::vector<Fields> forms = {
      {{"client_id", s.sa.client_id},
       {"client_id", s.ec.client_id},
       {"client_secret", s.sa.client_secret},
       {"jwt_token", assertion}},
      {{"client_id", s.sa.client_id},
       {"client_secret", s.sa.client_secret},
       {"client_secret", s.sa.client_secret},
       {"jwt_token", assertion}},
      {{"client_id", s.sa.client_id},
       {"client_secret", s.sa.client_secret},
       {"jwt_token", assertion},
       {"jwt_token", other}},
  };
  for (const auto& f : forms) {
    ExpectOAuthError(ims.http().PostForm("/ims/exchange/jwt", f), 400, "invalid_request",
                     Secrets({assertion, other}), "repeated parameter (url-encoded)");
    ExpectOAuthError(ims.http().PostMultipart("/ims/exchange/jwt", f), 400, "invalid_request",
                     Secrets({assertion, other}), "repeated parameter (multipart)");
  }
  ExpectOAuthError(ims.http().PostForm("/ims/token/v3", {{"grant_type", "client_credentials"},
                                                         {"grant_type", kJwtBearer},
                                                         {"client_id", s.oa.client_id},
                                                         {"client_secret", s.oa.client_secret}}),
                   400, "invalid_request", Secrets(), "repeated grant_type");
  // Client authentication by Basic and by form fields at once.
  ExpectOAuthError(
      ims.http().PostForm("/ims/token/v3",
                          {{"grant_type", "client_credentials"},
                           {"client_id", s.oa.client_id},
                           {"client_secret", s.oa.client_secret}},
                          {{"Authorization", "Basic " + crypto::Base64Encode(s.oa.client_id + ":" +
                                                                             s.oa.client_secret)}}),
      400, "invalid_request", Secrets(), "Basic and form credentials together");
  // Neither assertion was used up.
  Response ok = ims.Exchange(s.sa, assertion);
  EXPECT_EQ(ok.status, 200) << ok.body;
  RememberSecret(ok.Json().value("access_token", ""));
}

TEST_F(BadInput, WrongContentTypeOrMalformedForm) {
  const std::string assertion = ims.GoodAssertion(s.sa);
  const Fields f = {{"client_id", s.sa.client_id},
                    {"client_secret", s.sa.client_secret},
                    {"jwt_token", assertion}};
  const std::string form = http::EncodeForm(f);
  const json as_json = {{"client_id", s.sa.client_id},
                        {"client_secret", s.sa.client_secret},
                        {"jwt_token", assertion}};
  struct Case {
    std::string what, content_type, body;
  };
  for (const Case& c : std::vector<Case>{
           {"JSON body", "application/json", as_json.dump()},
           {"text/plain", "text/plain", form},
           {"no Content-Type", "", form},
           {"multipart without a boundary", "multipart/form-data", MultipartBody(f, "b0undary")},
           {"multipart with the wrong boundary", "multipart/form-data; boundary=other",
            MultipartBody(f, "b0undary")},
           {"multipart cut short", "multipart/form-data; boundary=b0undary",
            MultipartBody(f, "b0undary").substr(0, 120)},
           {"malformed percent escape", "application/x-www-form-urlencoded", form + "&x=%G1"},
           {"NUL in a field", "application/x-www-form-urlencoded", form + "&x=%00"},
           {"invalid UTF-8 in a field", "application/x-www-form-urlencoded", form + "&x=%FF"},
       }) {
    Fields headers;
    if (!c.content_type.empty()) headers.emplace_back("Content-Type", c.content_type);
    Response r = ims.http().Send("POST", "/ims/exchange/jwt", c.body, headers);
    ExpectOAuthError(r, 400, "invalid_request", Secrets({assertion}), c.what);
  }
  // Missing fields.
  ExpectOAuthError(
      ims.http().PostForm("/ims/exchange/jwt",
                          {{"client_id", s.sa.client_id}, {"client_secret", s.sa.client_secret}}),
      400, "invalid_request", Secrets(), "no jwt_token");
  ExpectOAuthError(ims.http().PostForm("/ims/exchange/jwt", {{"client_secret", s.sa.client_secret},
                                                             {"jwt_token", assertion}}),
                   400, "invalid_request", Secrets({assertion}), "no client_id");
  // The assertion was never used: it works now.
  Response ok = ims.Exchange(s.sa, assertion);
  EXPECT_EQ(ok.status, 200) << ok.body;
  RememberSecret(ok.Json().value("access_token", ""));
}

}  // namespace
}  // namespace portico::it

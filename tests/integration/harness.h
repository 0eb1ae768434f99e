// The integration tests' harness: starts the real `portico` binary as a child process in a
// temporary folder, talks to it over HTTP (portico_http's client) and raw sockets, builds
// assertions (good and hostile) with portico_crypto, and remembers every secret a test saw so
// that the service's log can be searched for them when the server stops.
//
// Helpers throw std::runtime_error when the harness itself cannot go on (the child did not
// start, a connection failed); GoogleTest reports that as a failure of the running test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/crypto/keys.h"
#include "core/http/client.h"

namespace portico::it {

using nlohmann::json;
using Fields = std::vector<std::pair<std::string, std::string>>;
namespace fs = std::filesystem;

// The path of the portico binary under test.
std::string PorticoBinary();

int64_t NowSeconds();

// A fresh folder (mkdtemp), removed with everything in it when destroyed (kept, and its path
// printed, when PORTICO_IT_KEEP is set).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// --- Child processes -------------------------------------------------------------------------

struct RunResult {
  int exit_code = -1;   // the exit status, or -1 if the process was killed by a signal
  int term_signal = 0;  // the signal that killed it, if any
  std::string out;      // standard output
  std::string err;      // standard error
};

// Runs a command to completion (killed after `timeout`), with `env` added to this process's
// environment, in `cwd` when given.
RunResult RunCommand(const std::vector<std::string>& argv, const Fields& env = {},
                     std::chrono::seconds timeout = std::chrono::seconds(120),
                     const fs::path& cwd = {});

// A running `portico up` or `portico serve ims`.
class PorticoProcess {
 public:
  // `portico up --data DATA --ims-port PORT --json`: waits (with a timeout) for its JSON document.
  // Its standard error goes to DATA.stderr beside DATA.
  // The author and portal ports are 0 (free ones) unless given: tests that restart on the same
  // folder give all three, since the author keeps the portal's URL.
  static std::unique_ptr<PorticoProcess> Up(const fs::path& data, int ims_port = 0,
                                            int author_port = 0, int portal_port = 0);
  // `portico serve ims --data DATA --port 0 --log-file DATA/ims.log`: waits for its JSON line.
  // Its standard error goes to `stderr_file`.
  static std::unique_ptr<PorticoProcess> ServeIms(const fs::path& data,
                                                  const fs::path& stderr_file);
  ~PorticoProcess();  // kills the child if it still runs

  // What the process printed when ready (up: the portico.json document; serve: the line).
  const json& ready() const { return ready_; }
  std::string ims_url() const;  // without a trailing slash
  int port() const;
  std::string org() const;             // up only
  std::string admin_login() const;     // up only
  std::string admin_password() const;  // up only
  pid_t pid() const { return pid_; }

  // True while the child has not exited.
  bool Running();
  // Sends SIGTERM and waits for the child; returns its exit status, or -1 (and records the
  // signal in stop_signal) if it died of a signal, or -2 if it had to be killed after the timeout.
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(60));
  int stop_signal() const { return stop_signal_; }
  // The child's standard error so far (ASan reports land there).
  std::string Stderr() const;

 private:
  PorticoProcess() = default;
  static std::unique_ptr<PorticoProcess> Spawn(const std::vector<std::string>& argv,
                                               const fs::path& stderr_file, bool multi_line);
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  fs::path stderr_file_;
  json ready_;
  bool exited_ = false;
  int exit_status_ = 0;
  int stop_signal_ = 0;
};

// --- HTTP ------------------------------------------------------------------------------------

struct Response {
  int status = 0;
  http::Headers headers;
  std::string body;
  json Json() const;  // null if the body is not JSON
};

// A blocking client bound to one base URL.
class Http {
 public:
  explicit Http(std::string base) : base_(std::move(base)) {}
  Response Send(const std::string& method, const std::string& path, const std::string& body = "",
                const Fields& headers = {});
  Response Get(const std::string& path, const Fields& headers = {}) {
    return Send("GET", path, "", headers);
  }
  // A form in application/x-www-form-urlencoded.
  Response PostForm(const std::string& path, const Fields& fields, const Fields& headers = {});
  // A form in multipart/form-data.
  Response PostMultipart(const std::string& path, const Fields& fields, const Fields& headers = {});
  Response PostJson(const std::string& path, const json& body, const std::string& bearer = "");
  const std::string& base() const { return base_; }

 private:
  std::string base_;
  http::HttpClient client_{http::ClientOptions{.io_timeout = std::chrono::seconds(60)}};
};

// A multipart/form-data body of `fields` with `boundary`.
std::string MultipartBody(const Fields& fields, const std::string& boundary);

// --- Raw sockets -----------------------------------------------------------------------------

// A connected TCP socket to 127.0.0.1:port (closed when destroyed).
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  // Sends everything it can; false once the peer has closed or reset the connection.
  bool Send(std::string_view data);
  // Reads until the peer closes, `max_bytes` arrive, or `timeout` passes.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout, size_t max_bytes = 1 << 20);
  // Reads one HTTP response (header and Content-Length body); empty if the peer closed first.
  std::string ReadResponse(std::chrono::milliseconds timeout);
  // True if the peer has closed the connection (a read returns 0 or an error) within `timeout`.
  bool ClosedByPeer(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the last response
};

// The status code of the first HTTP response in `raw` (0 if none).
int StatusOf(std::string_view raw);
// The body of the first HTTP response in `raw`.
std::string BodyOf(std::string_view raw);

// A TCP port that was free a moment ago (bound to port 0, then closed).
int PickFreePort();

// --- Keys, certificates, assertions ----------------------------------------------------------

struct KeyAndCert {
  crypto::PrivateKey key;
  std::string cert_pem;
  std::string fingerprint;  // lowercase hex SHA-256 of the DER certificate
};
KeyAndCert MakeRsaKeyAndCert(const std::string& cn = "portico-it");
KeyAndCert MakeEcKeyAndCert(const std::string& cn = "portico-it-ec");

// A JWS signed over exactly these header and payload texts (no re-serialisation, so duplicate
// keys and odd spellings reach the server as written). The signature is the key's own algorithm.
std::string SignRaw(const crypto::PrivateKey& key, const std::string& header_text,
                    const std::string& payload_text);
// A JWS with `header` (alg set to the key's algorithm unless `header` has one) and `payload`.
std::string Sign(const crypto::PrivateKey& key, const json& header, const json& payload);
// HMAC-SHA256 JWS (alg HS256) with `secret` as the HMAC key.
std::string SignHs256(const std::string& secret, const json& header, const json& payload);
// "header.payload." + base64url(signature bytes).
std::string WithSignature(const std::string& jws, const std::string& signature);
// The three parts of a compact JWS.
std::vector<std::string> JwsParts(const std::string& jws);
std::string B64Url(std::string_view bytes);
std::string B64UrlDecode(std::string_view text);

// --- The identity service as a test sees it -------------------------------------------------

// A credential made through the admin API.
struct Credential {
  std::string client_id;
  std::string client_secret;
  std::string technical_account_id;
  std::string org_id;
  std::string type;
  std::vector<std::string> scopes;   // metascopes or OAuth scopes
  std::optional<KeyAndCert> signer;  // service accounts: the key whose certificate it holds
  json created;                      // the creation answer
};

// One `portico up` with a logged-in admin and a project with the portal API; the building
// blocks of every test that talks to the identity service.
class Ims {
 public:
  // Starts `portico up` in a fresh folder (or `data` if given) and logs the admin in.
  explicit Ims(std::optional<fs::path> data = std::nullopt, int ims_port = 0, int author_port = 0,
               int portal_port = 0);
  ~Ims();

  const std::string& url() const { return url_; }
  const std::string& org() const { return org_; }
  const fs::path& data() const { return data_; }
  PorticoProcess& process() { return *process_; }
  Http& http() { return *http_; }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& project() const { return project_; }

  Credential CreateServiceAccount(std::optional<KeyAndCert> signer = std::nullopt);
  Credential CreateOAuth();
  // An admin API call; returns the response (status not checked).
  Response Admin(const std::string& method, const std::string& path_after_org,
                 const std::optional<json>& body = std::nullopt);

  // The claims of a good assertion for `cred` (IMS-PROTOCOL: exp now+300, iss, sub, aud, one
  // metascope claim).
  json GoodClaims(const Credential& cred) const;
  // A good RS256/ES256 assertion signed by the credential's key, with a fresh jti.
  std::string GoodAssertion(const Credential& cred) const;

  // POSTs to /ims/exchange/jwt (url-encoded); the raw response.
  Response Exchange(const Credential& cred, const std::string& assertion,
                    const std::string& path = "/ims/exchange/jwt", bool multipart = false);
  // A good exchange that must succeed; returns the access token (and fails the test otherwise).
  std::string ExchangeOk(const Credential& cred);

  // Verifies an access token of this service against its JWKS (ES256, kid) and returns its
  // claims; fails the test (and returns null) when it does not verify.
  json VerifyAccessToken(const std::string& token);

  // Stops the server (SIGTERM): asserts a clean exit 0, then that no remembered secret appears in
  // DATA/logs/portico.log and that every line of it is a JSON object.
  void StopAndCheckLog();

 private:
  std::unique_ptr<TempDir> temp_;
  fs::path data_;
  std::unique_ptr<PorticoProcess> process_;
  std::unique_ptr<Http> http_;
  std::string url_, org_, admin_token_, project_;
};

// Prints a line when PORTICO_IT_VERBOSE is set (what a refusal looked like, for people reading
// a run).
void Note(const std::string& line);

// Every secret a test has seen (client secrets, admin passwords, assertions, access tokens):
// none may appear in a service log.
void RememberSecret(const std::string& secret);
std::vector<std::string> RememberedSecrets();
// Asserts that no remembered secret, nor the signature part of a remembered JWS, appears in the
// log file, and that every non-empty line is a JSON object.
void ExpectLogHasNoSecret(const fs::path& log_file);

// Asserts an OAuth error answer: `status`, JSON {"error": code, "error_description": non-empty},
// and that the description quotes none of `secrets` (nor a part of one that is a JWS).
void ExpectOAuthError(const Response& r, int status, const std::string& code,
                      const std::vector<std::string>& secrets, const std::string& what);

// A gtest environment that owns one shared Ims per test binary, started on first use, and stops
// it after every test (asserting a clean exit and a log without secrets).
class SharedIms : public ::testing::Environment {
 public:
  static Ims& Get();
  void TearDown() override;
};

}  // namespace portico::it

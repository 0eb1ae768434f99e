#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/crypto/encoding.h"
#include "core/crypto/jws.h"
#include "core/crypto/random.h"
#include "core/crypto/x509.h"

extern char** environ;

namespace portico::it {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

template <typename T>
T Must(StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Fail(what + ": " + v.status().ToString());
  return std::move(v).value();
}

// environ plus `extra` (which wins), as a NULL-terminated vector over `storage`.
std::vector<char*> BuildEnv(const Fields& extra, std::vector<std::string>& storage) {
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    std::string name = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden |= k == name;
    if (!overridden) storage.push_back(kv);
  }
  for (const auto& [k, v] : extra) storage.push_back(k + "=" + v);
  std::vector<char*> out;
  for (auto& s : storage) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<char*> BuildArgv(const std::vector<std::string>& argv,
                             std::vector<std::string>& storage) {
  storage = argv;
  std::vector<char*> out;
  for (auto& s : storage) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Children start with default signal dispositions and an empty signal mask.
void DefaultSignals(posix_spawnattr_t* attr) {
  posix_spawnattr_init(attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(attr, &empty);
  posix_spawnattr_setsigdefault(attr, &defaults);
  posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

std::string ReadWholeFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Tail(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

std::mutex g_secrets_mu;
std::vector<std::string> g_secrets;

}  // namespace

std::string PorticoBinary() { return PORTICO_BINARY; }

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- TempDir -----------------------------------------------------------------------------------

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/portico-it-XXXXXX";
  if (!::mkdtemp(tmpl.data())) Fail("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("PORTICO_IT_KEEP")) {
    std::cerr << "[harness] kept " << path_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// --- Run ---------------------------------------------------------------------------------------

RunResult RunCommand(const std::vector<std::string>& argv, const Fields& env,
                     std::chrono::seconds timeout, const fs::path& cwd) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) Fail("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  DefaultSignals(&attr);
  std::vector<std::string> arg_storage, env_storage;
  auto args = BuildArgv(argv, arg_storage);
  auto envp = BuildEnv(env, env_storage);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    Fail("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  RunResult r;
  const auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true, killed = false;
  char buf[65536];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(p[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  if (killed) r.err += "\n[harness] killed after the timeout\n";
  return r;
}

// --- PorticoProcess ----------------------------------------------------------------------------

std::unique_ptr<PorticoProcess> PorticoProcess::Spawn(const std::vector<std::string>& argv,
                                                      const fs::path& stderr_file,
                                                      bool multi_line) {
  // fork/exec rather than posix_spawn, so the child can ask to be killed if this test process
  // dies (an ASan abort, a crash): no server outlives its test.
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) Fail("pipe failed");
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int err_fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null_fd < 0 || err_fd < 0) Fail("cannot open the child's stdin or stderr");
  std::vector<std::string> arg_storage, env_storage;
  auto args = BuildArgv(argv, arg_storage);
  auto envp = BuildEnv({}, env_storage);
  const pid_t parent = ::getpid();
  std::unique_ptr<PorticoProcess> p(new PorticoProcess());
  p->pid_ = ::fork();
  if (p->pid_ == 0) {
    // The child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD}) ::signal(sig, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(err_fd, 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out[1]);
  ::close(null_fd);
  ::close(err_fd);
  if (p->pid_ < 0) {
    ::close(out[0]);
    Fail("cannot start " + argv[0] + ": " + std::strerror(fork_errno));
  }
  p->stdout_fd_ = out[0];
  p->stderr_file_ = stderr_file;

  // Wait for the readiness document: one line (serve) or one multi-line JSON document (up).
  std::string text;
  const auto deadline = Clock::now() + std::chrono::seconds(90);
  char buf[4096];
  for (;;) {
    if (multi_line ? (!text.empty() && json::accept(text)) : text.find('\n') != std::string::npos) {
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      p->Stop(std::chrono::seconds(10));
      Fail("portico did not print its readiness document within 90 s; stdout: " + text +
           "\nstderr: " + Tail(p->Stderr()));
    }
    pollfd pfd{p->stdout_fd_, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 500)));
    if (n <= 0) continue;
    ssize_t got = ::read(p->stdout_fd_, buf, sizeof buf);
    if (got > 0) {
      text.append(buf, static_cast<size_t>(got));
    } else if (got == 0) {
      int code = p->Stop(std::chrono::seconds(10));
      Fail("portico exited (status " + std::to_string(code) +
           ") before it was ready; stdout: " + text + "\nstderr: " + Tail(p->Stderr()));
    }
  }
  if (!multi_line) text = text.substr(0, text.find('\n'));
  p->ready_ = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!p->ready_.is_object()) Fail("portico's readiness output is not a JSON object: " + text);
  return p;
}

std::unique_ptr<PorticoProcess> PorticoProcess::Up(const fs::path& data, int ims_port,
                                                   int author_port, int portal_port) {
  return Spawn({PorticoBinary(), "up", "--data", data.string(), "--ims-port",
                std::to_string(ims_port), "--author-port", std::to_string(author_port),
                "--portal-port", std::to_string(portal_port), "--json"},
               data.parent_path() / (data.filename().string() + ".stderr"), true);
}

std::unique_ptr<PorticoProcess> PorticoProcess::ServeIms(const fs::path& data,
                                                         const fs::path& stderr_file) {
  return Spawn({PorticoBinary(), "serve", "ims", "--data", data.string(), "--port", "0",
                "--log-file", (data / "ims.log").string()},
               stderr_file, false);
}

PorticoProcess::~PorticoProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::string PorticoProcess::ims_url() const {
  std::string url = ready_.contains("ims") ? ready_.value("ims", "") : ready_.value("url", "");
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

int PorticoProcess::port() const {
  if (ready_.contains("port")) return ready_["port"].get<int>();
  std::string url = ims_url();
  return std::stoi(url.substr(url.rfind(':') + 1));
}

std::string PorticoProcess::org() const { return ready_.value("org", ""); }
std::string PorticoProcess::admin_login() const {
  return ready_.contains("admin") ? ready_["admin"].value("login", "") : "";
}
std::string PorticoProcess::admin_password() const {
  return ready_.contains("admin") ? ready_["admin"].value("password", "") : "";
}

bool PorticoProcess::Running() {
  if (exited_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    stop_signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return false;
  }
  return true;
}

int PorticoProcess::Stop(std::chrono::seconds timeout) {
  if (!Running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!Running()) return exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  exit_status_ = -2;
  return exit_status_;
}

std::string PorticoProcess::Stderr() const { return ReadWholeFile(stderr_file_); }

// --- HTTP --------------------------------------------------------------------------------------

json Response::Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }

Response Http::Send(const std::string& method, const std::string& path, const std::string& body,
                    const Fields& headers) {
  http::ClientRequest req;
  req.method = method;
  req.url = base_ + path;
  for (const auto& [k, v] : headers) req.headers.Add(k, v);
  req.body = body;
  auto r = client_.Send(req);
  if (!r.ok()) Fail(method + " " + path + " failed: " + r.status().ToString());
  return Response{r->status, r->headers, r->body};
}

Response Http::PostForm(const std::string& path, const Fields& fields, const Fields& headers) {
  Fields h = headers;
  h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return Send("POST", path, http::EncodeForm(fields), h);
}

std::string MultipartBody(const Fields& fields, const std::string& boundary) {
  std::string body;
  for (const auto& [k, v] : fields) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + k + "\"\r\n\r\n";
    body += v + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return body;
}

Response Http::PostMultipart(const std::string& path, const Fields& fields, const Fields& headers) {
  // The boundary style of the npm form-data package that the client libraries use.
  const std::string boundary = "--------------------------" + crypto::RandomHex(12);
  Fields h = headers;
  h.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
  return Send("POST", path, MultipartBody(fields, boundary), h);
}

Response Http::PostJson(const std::string& path, const json& body, const std::string& bearer) {
  Fields h = {{"Content-Type", "application/json"}};
  if (!bearer.empty()) h.emplace_back("Authorization", "Bearer " + bearer);
  return Send("POST", path, body.dump(), h);
}

// --- Raw sockets -------------------------------------------------------------------------------

RawConnection::RawConnection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) Fail("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    Fail("connect to port " + std::to_string(port) + " failed: " + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string RawConnection::ReadUntilClosed(std::chrono::milliseconds timeout, size_t max_bytes) {
  std::string out = std::move(pending_);
  pending_.clear();
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (out.size() < max_bytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  std::string data = std::move(pending_);
  pending_.clear();
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  auto complete = [&]() -> size_t {  // the length of the first full response, or 0
    size_t end = data.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    std::string head = data.substr(0, end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t length = 0;
    if (auto cl = head.find("\r\ncontent-length:"); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 17));
    return data.size() >= end + 4 + length ? end + 4 + length : 0;
  };
  for (;;) {
    if (size_t n = complete()) {
      pending_ = data.substr(n);
      return data.substr(0, n);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return data;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

bool RawConnection::ClosedByPeer(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

int StatusOf(std::string_view raw) {
  if (raw.size() < 12 || raw.substr(0, 9) != "HTTP/1.1 ") return 0;
  return std::atoi(std::string(raw.substr(9, 3)).c_str());
}

std::string BodyOf(std::string_view raw) {
  size_t end = raw.find("\r\n\r\n");
  return end == std::string_view::npos ? "" : std::string(raw.substr(end + 4));
}

int PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Fail("bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// --- Keys and assertions -----------------------------------------------------------------------

namespace {
KeyAndCert WithCert(crypto::PrivateKey key, const std::string& cn) {
  std::string pem = Must(crypto::CreateSelfSignedCertificate(key, cn, std::chrono::hours(24 * 30)),
                         "self-signed certificate");
  auto cert = Must(crypto::Certificate::FromPem(pem), "parse certificate");
  return KeyAndCert{std::move(key), pem, cert.fingerprint_sha256()};
}
}  // namespace

KeyAndCert MakeRsaKeyAndCert(const std::string& cn) {
  return WithCert(Must(crypto::PrivateKey::GenerateRsa(2048), "RSA key"), cn);
}

KeyAndCert MakeEcKeyAndCert(const std::string& cn) {
  return WithCert(Must(crypto::PrivateKey::GenerateEcP256(), "EC key"), cn);
}

std::string B64Url(std::string_view bytes) { return crypto::Base64UrlEncode(bytes); }

std::string B64UrlDecode(std::string_view text) {
  return Must(crypto::Base64UrlDecode(text), "base64url");
}

std::string SignRaw(const crypto::PrivateKey& key, const std::string& header_text,
                    const std::string& payload_text) {
  std::string input = B64Url(header_text) + "." + B64Url(payload_text);
  std::string sig = Must(key.Sign(key.algorithm(), input), "sign");
  return input + "." + B64Url(sig);
}

std::string Sign(const crypto::PrivateKey& key, const json& header, const json& payload) {
  json h = header;
  if (!h.contains("alg")) h["alg"] = std::string(crypto::AlgorithmName(key.algorithm()));
  return SignRaw(key, h.dump(), payload.dump());
}

std::string SignHs256(const std::string& secret, const json& header, const json& payload) {
  json h = header;
  h["alg"] = "HS256";
  std::string input = B64Url(h.dump()) + "." + B64Url(payload.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return input + "." + B64Url(std::string_view(reinterpret_cast<char*>(mac), mac_len));
}

std::string WithSignature(const std::string& jws, const std::string& signature) {
  return jws.substr(0, jws.rfind('.') + 1) + B64Url(signature);
}

std::vector<std::string> JwsParts(const std::string& jws) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = jws.find('.', start);
    parts.push_back(jws.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

void Note(const std::string& line) {
  if (std::getenv("PORTICO_IT_VERBOSE")) std::cout << "[note] " << line << "\n";
}

// --- Secrets -----------------------------------------------------------------------------------

void RememberSecret(const std::string& secret) {
  if (secret.empty()) return;
  std::lock_guard lock(g_secrets_mu);
  g_secrets.push_back(secret);
}

std::vector<std::string> RememberedSecrets() {
  std::lock_guard lock(g_secrets_mu);
  return g_secrets;
}

namespace {
// The strings of `secret` that must never be quoted: itself and, for a JWS, its signature part
// and its signing input (the claims alone are not secret).
std::vector<std::string> Needles(const std::string& secret) {
  std::vector<std::string> out;
  if (secret.size() >= 8) out.push_back(secret);
  auto parts = JwsParts(secret);
  if (parts.size() == 3) {
    if (parts[2].size() >= 16) out.push_back(parts[2]);
    if (parts[0].size() + parts[1].size() >= 16) out.push_back(parts[0] + "." + parts[1]);
  }
  return out;
}
}  // namespace

void ExpectLogHasNoSecret(const fs::path& log_file) {
  ASSERT_TRUE(fs::exists(log_file)) << log_file;
  const std::string text = ReadWholeFile(log_file);
  EXPECT_FALSE(text.empty()) << log_file << " is empty: the test would prove nothing";
  std::istringstream lines(text);
  std::string line;
  int n = 0, bad = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++n;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() && ++bad <= 3) ADD_FAILURE() << "log line is not a JSON object: " << line;
  }
  EXPECT_GT(n, 0);
  const auto secrets = RememberedSecrets();
  int leaks = 0;
  for (const auto& s : secrets) {
    for (const auto& needle : Needles(s)) {
      size_t at = text.find(needle);
      if (at != std::string::npos && ++leaks <= 5) {
        size_t line_start = text.rfind('\n', at);
        line_start = line_start == std::string::npos ? 0 : line_start + 1;
        ADD_FAILURE() << "a secret seen by the test (" << needle.size() << " bytes, starting "
                      << needle.substr(0, 6) << "...) is in " << log_file
                      << "; line: " << text.substr(line_start, text.find('\n', at) - line_start);
      }
    }
  }
  EXPECT_EQ(leaks, 0);
  std::cout << "[harness] " << log_file.filename().string() << ": " << n << " JSON lines, "
            << secrets.size() << " secrets searched, " << leaks << " found\n";
}

void ExpectOAuthError(const Response& r, int status, const std::string& code,
                      const std::vector<std::string>& secrets, const std::string& what) {
  SCOPED_TRACE(what);
  Note("refused: " + what + ": " + std::to_string(r.status) + " " + r.body);
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  json j = r.Json();
  ASSERT_TRUE(j.is_object()) << what << ": the error body is not a JSON object: " << r.body;
  EXPECT_EQ(j.value("error", ""), code) << what << ": " << r.body;
  ASSERT_TRUE(j.contains("error_description") && j["error_description"].is_string()) << r.body;
  EXPECT_FALSE(j["error_description"].get<std::string>().empty()) << r.body;
  for (const auto& s : secrets) {
    for (const auto& needle : Needles(s)) {
      EXPECT_EQ(r.body.find(needle), std::string::npos)
          << what << ": the answer quotes a secret (" << needle.substr(0, 6) << "...): " << r.body;
    }
  }
}

// --- Ims ---------------------------------------------------------------------------------------

Ims::Ims(std::optional<fs::path> data, int ims_port, int author_port, int portal_port) {
  if (data) {
    data_ = *data;
  } else {
    temp_ = std::make_unique<TempDir>();
    data_ = temp_->path() / "data";
  }
  process_ = PorticoProcess::Up(data_, ims_port, author_port, portal_port);
  url_ = process_->ims_url();
  org_ = process_->org();
  if (url_.empty() || org_.empty())
    Fail("portico up printed no ims URL or org: " + process_->ready().dump());
  RememberSecret(process_->admin_password());
  http_ = std::make_unique<Http>(url_);
  Response login = http_->PostJson("/api/v1/login", {{"login", process_->admin_login()},
                                                     {"password", process_->admin_password()}});
  if (login.status != 200) Fail("admin login failed: " + login.body);
  admin_token_ = login.Json().value("access_token", "");
  RememberSecret(admin_token_);
  Response p = Admin("POST", "/projects", json{{"name", "it-project"}, {"apis", {"portal"}}});
  if (p.status != 201) p = Admin("GET", "/projects/it-project");
  if (p.status != 200 && p.status != 201) Fail("cannot make the test project: " + p.body);
  project_ = p.Json().value("id", "");
}

Ims::~Ims() = default;

Response Ims::Admin(const std::string& method, const std::string& path_after_org,
                    const std::optional<json>& body) {
  Fields h = {{"Authorization", "Bearer " + admin_token_}};
  if (body) h.emplace_back("Content-Type", "application/json");
  return http_->Send(method, "/api/v1/orgs/" + org_ + path_after_org, body ? body->dump() : "", h);
}

namespace {
Credential FromCreated(const json& j) {
  Credential c;
  c.created = j;
  c.client_id = j.value("client_id", "");
  c.client_secret = j.value("client_secret", "");
  c.technical_account_id = j.value("technical_account_id", "");
  c.org_id = j.value("org_id", "");
  c.type = j.value("type", "");
  for (const char* k : {"metascopes", "scopes"}) {
    if (j.contains(k))
      for (const auto& s : j[k]) c.scopes.push_back(s.get<std::string>());
  }
  RememberSecret(c.client_secret);
  return c;
}
}  // namespace

Credential Ims::CreateServiceAccount(std::optional<KeyAndCert> signer) {
  if (!signer) signer = MakeRsaKeyAndCert();
  Response r = Admin("POST", "/projects/" + project_ + "/credentials",
                     json{{"type", "service_account"}, {"certificate", signer->cert_pem}});
  if (r.status != 201) Fail("cannot create a service account: " + r.body);
  Credential c = FromCreated(r.Json());
  c.signer = std::move(signer);
  return c;
}

Credential Ims::CreateOAuth() {
  Response r = Admin("POST", "/projects/" + project_ + "/credentials",
                     json{{"type", "oauth_server_to_server"}});
  if (r.status != 201) Fail("cannot create an OAuth credential: " + r.body);
  return FromCreated(r.Json());
}

json Ims::GoodClaims(const Credential& cred) const {
  return json{{"exp", NowSeconds() + 300},
              {"iss", cred.org_id},
              {"sub", cred.technical_account_id},
              {"aud", url_ + "/c/" + cred.client_id},
              {url_ + "/s/ent_portal_sdk", true}};
}

std::string Ims::GoodAssertion(const Credential& cred) const {
  json claims = GoodClaims(cred);
  claims["jti"] = crypto::RandomHex(16);
  std::string a = Sign(cred.signer->key, json{{"typ", "JWT"}}, claims);
  RememberSecret(a);
  return a;
}

Response Ims::Exchange(const Credential& cred, const std::string& assertion,
                       const std::string& path, bool multipart) {
  Fields f = {{"client_id", cred.client_id},
              {"client_secret", cred.client_secret},
              {"jwt_token", assertion}};
  return multipart ? http_->PostMultipart(path, f) : http_->PostForm(path, f);
}

std::string Ims::ExchangeOk(const Credential& cred) {
  Response r = Exchange(cred, GoodAssertion(cred));
  EXPECT_EQ(r.status, 200) << "a good exchange must still work: " << r.body;
  std::string token = r.Json().value("access_token", "");
  EXPECT_FALSE(token.empty()) << r.body;
  RememberSecret(token);
  return token;
}

json Ims::VerifyAccessToken(const std::string& token) {
  Response keys = http_->Get("/ims/keys");
  EXPECT_EQ(keys.status, 200);
  json jwks = keys.Json();
  auto parsed = crypto::ParseJws(token);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return nullptr;
  EXPECT_EQ(parsed->header.value("alg", ""), "ES256");
  EXPECT_FALSE(parsed->kid.empty()) << "an access token names its key";
  if (!jwks.contains("keys") || !jwks["keys"].is_array()) {
    ADD_FAILURE() << "JWKS has no keys: " << keys.body;
    return nullptr;
  }
  for (const auto& jwk : jwks["keys"]) {
    if (jwk.value("kid", "") != parsed->kid) continue;
    auto key = crypto::PublicKey::FromJwk(jwk);
    EXPECT_TRUE(key.ok()) << key.status().ToString() << " " << jwk.dump();
    if (!key.ok()) return nullptr;
    Status st = crypto::VerifyJws(*parsed, *key);
    EXPECT_TRUE(st.ok()) << "the access token does not verify against the JWKS: " << st.ToString();
    if (!st.ok()) return nullptr;
    return parsed->payload;
  }
  ADD_FAILURE() << "no JWKS key has the token's kid " << parsed->kid << ": " << keys.body;
  return nullptr;
}

void Ims::StopAndCheckLog() {
  if (!process_) return;
  int code = process_->Stop();
  EXPECT_EQ(code, 0) << "portico up must exit 0 on SIGTERM (signal " << process_->stop_signal()
                     << "); stderr:\n"
                     << Tail(process_->Stderr());
  ExpectLogHasNoSecret(data_ / "logs" / "portico.log");
}

// --- SharedIms ---------------------------------------------------------------------------------

namespace {
std::unique_ptr<Ims> g_shared;
// Registered in every test binary that links the harness; it acts only if a test used it.
[[maybe_unused]] ::testing::Environment* const g_shared_env =
    ::testing::AddGlobalTestEnvironment(new SharedIms());
}  // namespace

Ims& SharedIms::Get() {
  if (!g_shared) g_shared = std::make_unique<Ims>();
  return *g_shared;
}

void SharedIms::TearDown() {
  if (!g_shared) return;
  SCOPED_TRACE("the shared portico up: clean stop, and no secret in its log");
  g_shared->StopAndCheckLog();
  g_shared.reset();
}

}  // namespace portico::it

// Requests that are not HTTP-shaped, over raw TCP sockets against the real binary: binary
// garbage, a 10 MB header line, slow-loris headers while a normal client keeps getting answers,
// a body longer than its Content-Length. Each is refused (a JSON 4xx when the server can still
// answer, and the connection closed), and the server stays up and keeps serving.
#include <atomic>
#include <random>
#include <thread>

#include "core/crypto/random.h"
#include "harness.h"

namespace portico::it {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

class NotHttp : public ::testing::Test {
 protected:
  Ims& ims = SharedIms::Get();

  // The server still answers an ordinary client, and still issues tokens.
  void ExpectStillServing(const std::string& after) {
    SCOPED_TRACE("after " + after);
    ASSERT_TRUE(ims.process().Running()) << "portico died; stderr:\n" << ims.process().Stderr();
    Http fresh(ims.url());
    EXPECT_EQ(fresh.Get("/healthz").status, 200);
    ims.ExchangeOk(Cred());
  }

  Credential& Cred() {
    static Credential* c = nullptr;
    if (!c) c = new Credential(ims.CreateServiceAccount());
    return *c;
  }

  // A refusal that still got an answer: a JSON error with a 4xx status.
  static void ExpectJson4xx(const std::string& raw, const std::string& what) {
    int status = StatusOf(raw);
    EXPECT_GE(status, 400) << what << ": " << raw.substr(0, 300);
    EXPECT_LT(status, 500) << what << ": " << raw.substr(0, 300);
    json body = json::parse(BodyOf(raw), nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("error") && body.contains("error_description"))
        << what << ": " << raw.substr(0, 300);
  }
};

TEST_F(NotHttp, BinaryGarbage) {
  std::mt19937 rng(42);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  // A TLS ClientHello's first bytes, as a client that expects https would send.
  const std::string tls = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"random bytes", garbage},
      {"a TLS ClientHello", tls + garbage.substr(0, 500)},
      {"NULs", std::string(1000, '\0')},
      {"a request line of garbage", "\x01\x02\x03 /\xff\xfe HTTP/1.1\r\n\r\n"},
      {"a NUL in a header name", "GET /healthz HTTP/1.1\r\nHo\0st: x\r\n\r\n"s},
      {"HTTP/9.9", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"},
      {"a header without a colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"},
      {"a bare LF flood", std::string(5000, '\n') + "GET"},
  };
  for (const auto& [what, bytes] : cases) {
    SCOPED_TRACE(what);
    RawConnection conn(ims.process().port());
    conn.Send(bytes);
    std::string raw = conn.ReadUntilClosed(30s);
    Note(what + " -> " + raw.substr(0, raw.find("\r\n")) + " " + BodyOf(raw));
    // Either a JSON 400 and a close, or (when nothing looked like a request yet) just a close.
    if (!raw.empty()) ExpectJson4xx(raw, what);
    EXPECT_TRUE(conn.ClosedByPeer(30s)) << what << ": the connection was left open";
  }
  ExpectStillServing("binary garbage");
}

TEST_F(NotHttp, TenMegabyteHeaderLine) {
  for (const std::string& what : {std::string("header field"), std::string("request target")}) {
    SCOPED_TRACE(what);
    RawConnection conn(ims.process().port());
    std::string head = what == "header field"
                           ? "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: "
                           : "GET /healthz?q=";
    // Send 10 MB from another thread; the server refuses after its 64 KiB header cap and closes,
    // so the sender will see the connection break long before the end.
    std::atomic<size_t> sent{0};
    std::thread sender([&] {
      if (!conn.Send(head)) return;
      const std::string chunk(64 * 1024, 'a');
      for (size_t i = 0; i < 160; ++i) {
        if (!conn.Send(chunk)) return;
        sent += chunk.size();
      }
      conn.Send("\r\n\r\n");
    });
    std::string raw = conn.ReadResponse(60s);
    sender.join();
    Note("10 MB " + what + " -> " + raw.substr(0, raw.find("\r\n")) + " " + BodyOf(raw) +
         "; bytes sent " + std::to_string(sent.load()));
    // The answer (if it arrived before the reset) is a JSON 431 (or 400 for a target).
    if (!raw.empty()) {
      ExpectJson4xx(raw, what);
      if (what == "header field") {
        EXPECT_EQ(StatusOf(raw), 431) << raw.substr(0, 300);
      }
    }
    EXPECT_LT(sent.load(), 10u * 1024 * 1024) << "the server read a 10 MB header to the end";
  }
  ExpectStillServing("a 10 MB header line");
}

TEST_F(NotHttp, SlowLorisHeadersDoNotStarveOtherClients) {
  constexpr int kSlow = 12;
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawConnection>(ims.process().port()));
    ASSERT_TRUE(slow.back()->Send("POST /ims/exchange/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  }
  // Dribble one header byte per connection every 200 ms while a normal client works.
  std::atomic<bool> stop{false};
  std::thread dribbler([&] {
    const std::string header = "X-Slow: " + std::string(1000, 'z');
    size_t at = 0;
    while (!stop) {
      for (auto& c : slow) c->Send(header.substr(at % header.size(), 1));
      ++at;
      std::this_thread::sleep_for(200ms);
    }
  });
  Http normal(ims.url());
  int answered = 0;
  for (int i = 0; i < 10; ++i) {
    Response h = normal.Get("/healthz");
    EXPECT_EQ(h.status, 200);
    Response t = ims.Exchange(Cred(), ims.GoodAssertion(Cred()));
    EXPECT_EQ(t.status, 200) << t.body;
    RememberSecret(t.Json().value("access_token", ""));
    answered += h.status == 200 && t.status == 200;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(answered, 10) << "a normal client was refused while slow clients dribbled headers";
  // The slow clients keep dribbling; the server ends each one at its header deadline, answering
  // 408 (or just closing) rather than waiting for ever.
  int closed = 0;
  for (auto& c : slow) {
    std::string raw = c->ReadUntilClosed(60s, 64 * 1024);
    Note("slow loris -> " + raw.substr(0, raw.find("\r\n")) + " " + BodyOf(raw));
    if (!raw.empty()) {
      ExpectJson4xx(raw, "slow loris");
      EXPECT_EQ(StatusOf(raw), 408) << raw.substr(0, 300);
    }
    closed += c->ClosedByPeer(1s) || !raw.empty();
  }
  stop = true;
  dribbler.join();
  EXPECT_EQ(closed, kSlow) << "slow-loris connections were kept open";
  ExpectStillServing("slow-loris headers");
}

TEST_F(NotHttp, BodyLongerThanItsContentLength) {
  const std::string form = http::EncodeForm({{"client_id", Cred().client_id},
                                             {"client_secret", Cred().client_secret},
                                             {"jwt_token", ims.GoodAssertion(Cred())}});
  RawConnection conn(ims.process().port());
  // A good exchange whose body is followed by bytes that are not a request.
  std::string extra = "\x01\x02GARBAGE-AFTER-THE-BODY\xff\xfe" + std::string(3000, 'x');
  ASSERT_TRUE(
      conn.Send("POST /ims/exchange/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                std::to_string(form.size()) + "\r\n\r\n" + form + extra));
  std::string first = conn.ReadResponse(30s);
  // The declared body is one request, answered as such...
  EXPECT_EQ(StatusOf(first), 200) << first.substr(0, 300);
  RememberSecret(json::parse(BodyOf(first), nullptr, false).value("access_token", ""));
  // ...and the bytes after it are not a second request: a JSON 400 and the connection closed.
  std::string rest = conn.ReadUntilClosed(30s);
  Note("bytes after the body -> " + rest.substr(0, rest.find("\r\n")) + " " + BodyOf(rest));
  if (!rest.empty()) {
    ExpectJson4xx(rest, "bytes after the body");
    EXPECT_EQ(StatusOf(rest), 400) << rest.substr(0, 300);
  }
  EXPECT_TRUE(conn.ClosedByPeer(30s));

  // Framing that could smuggle a request is refused outright.
  for (const auto& [what, head] : std::vector<std::pair<std::string, std::string>>{
           {"Content-Length and chunked", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"},
           {"two different Content-Lengths", "Content-Length: 4\r\nContent-Length: 40\r\n"},
           {"a negative Content-Length", "Content-Length: -1\r\n"},
           {"a Content-Length that is not a number", "Content-Length: 4x\r\n"}}) {
    SCOPED_TRACE(what);
    RawConnection c(ims.process().port());
    c.Send(
        "POST /ims/exchange/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n" +
        head + "\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    std::string raw = c.ReadUntilClosed(30s);
    Note(what + " -> " + raw.substr(0, raw.find("\r\n")) + " " + BodyOf(raw));
    EXPECT_EQ(StatusOf(raw), 400) << raw.substr(0, 300);
    EXPECT_EQ(raw.find("\"status\":\"ok\""), std::string::npos)
        << "a smuggled request was served: " << raw.substr(0, 600);
  }
  ExpectStillServing("a body longer than its Content-Length");
}

}  // namespace
}  // namespace portico::it

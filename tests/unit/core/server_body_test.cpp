// The streaming body reader over real loopback sockets: one Read fills the handler's span (or
// reaches the end), while the per-read stall timeout, the body limit and a client going away
// behave as before. A body of known length is read from the socket straight into the span: the
// bytes land in order whether they came with the header or later, and nothing after the body (a
// pipelined request) is consumed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/http/server.h"
#include "raw_socket.h"

namespace portico::http {
namespace {

using namespace std::chrono_literals;
using testing::ReadAll;
using testing::SendAll;

class ServerBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router r;
    // Reads the body in 1 MiB spans; /slow also sleeps past the body timeout after each span.
    auto read_body = [this](Request& req, bool slow) {
      std::vector<char> buf(1 << 20);
      std::vector<size_t> sizes;
      std::string data;
      Status end;
      for (;;) {
        auto n = req.body->Read(buf);
        if (!n.ok()) {
          end = n.status();
          break;
        }
        if (*n == 0) break;
        sizes.push_back(*n);
        data.append(buf.data(), *n);
        if (slow) std::this_thread::sleep_for(600ms);
      }
      {
        std::lock_guard lock(mu_);
        sizes_ = sizes;
        data_ = std::move(data);
        end_ = end;
        done_ = true;
      }
      if (!end.ok()) return Response::Error(end);
      return Response::Json(200, nlohmann::json{{"reads", sizes.size()}});
    };
    r.Add(
        "POST", "/read", [read_body](Request& req) { return read_body(req, false); },
        RouteOptions{.max_body_bytes = 8 << 20, .stream_body = true});
    r.Add(
        "POST", "/slow", [read_body](Request& req) { return read_body(req, true); },
        RouteOptions{.max_body_bytes = 8 << 20, .stream_body = true});
    ServerOptions o;
    o.service = "test";
    o.body_timeout = 400ms;
    o.access_log = false;
    server_ = std::make_unique<Server>(o, std::move(r), nullptr);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(1000ms); }

  int Connect() {
    int fd = testing::ConnectLoopback(server_->port());
    EXPECT_GE(fd, 0);
    return fd;
  }
  // Waits for the handler to finish its reading.
  bool WaitDone(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu_);
        if (done_) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::vector<size_t> sizes_;
  std::string data_;
  Status end_;
  bool done_ = false;
};

TEST_F(ServerBodyTest, EachReadFillsTheWholeSpan) {
  int fd = Connect();
  const size_t total = (5 << 20) + 12'345;
  SendAll(fd, "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(total) + "\r\n\r\n");
  // In small pieces, so the socket never holds a whole span at once.
  std::string piece(7000, 'z');
  for (size_t sent = 0; sent < total; sent += piece.size())
    SendAll(fd, std::string_view(piece).substr(0, std::min(piece.size(), total - sent)));
  std::string out = ReadAll(fd, 2000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out.substr(0, 200);
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(sizes_, (std::vector<size_t>{1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 12'345}));
}

TEST_F(ServerBodyTest, ASlowClientWithinTheStallTimeoutIsServed) {
  // The span takes longer than the body timeout to fill, but no single wait does.
  int fd = Connect();
  SendAll(fd, "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n");
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);
    SendAll(fd, "a");
  }
  std::string out = ReadAll(fd, 2000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out.substr(0, 200);
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(sizes_, std::vector<size_t>{10});
}

TEST_F(ServerBodyTest, AClientStallingMidSpanTimesOut) {
  int fd = Connect();
  SendAll(fd,
          "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n");
  SendAll(fd, std::string(5000, 'a'));
  ASSERT_TRUE(WaitDone());
  close(fd);
  std::lock_guard lock(mu_);
  EXPECT_EQ(end_.code(), Code::kTimeout) << end_.ToString();
  EXPECT_TRUE(sizes_.empty());
}

TEST_F(ServerBodyTest, AClientGoingAwayMidSpanFailsTheRead) {
  int fd = Connect();
  SendAll(fd,
          "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3000000\r\n\r\n");
  SendAll(fd, std::string(1 << 20, 'a'));  // exactly one span: the read returns it
  SendAll(fd, std::string(5000, 'a'));
  std::this_thread::sleep_for(100ms);
  close(fd);
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(end_.code(), Code::kInvalidArgument) << end_.ToString();
  EXPECT_EQ(sizes_, std::vector<size_t>{1 << 20});
}

TEST_F(ServerBodyTest, AChunkedBodyOverTheLimitFailsMidSpan) {
  int fd = Connect();
  SendAll(
      fd,
      "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk(1 << 20, 'c');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  for (int i = 0; i < 9; ++i) SendAll(fd, std::string(size) + "\r\n" + chunk + "\r\n");
  SendAll(fd, "0\r\n\r\n");
  std::string out = ReadAll(fd, 3000ms);
  close(fd);
  // The server closes on a body it refused: a reset may beat its answer to this socket.
  if (!out.empty()) {
    EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 413") << out.substr(0, 200);
  }
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(end_.code(), Code::kPayloadTooLarge);
  EXPECT_EQ(sizes_.size(), 8u);  // 8 MiB is the limit: the ninth span fails
}

TEST_F(ServerBodyTest, ExpectContinueIsSentOnceBeforeTheFirstSpan) {
  int fd = Connect();
  SendAll(fd,
          "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2000000\r\n"
          "Expect: 100-continue\r\n\r\n");
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1);
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  SendAll(fd, std::string(2'000'000, 'b'));
  std::string out = ReadAll(fd, 2000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out.substr(0, 200);
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(sizes_, (std::vector<size_t>{1 << 20, 2'000'000 - (1 << 20)}));
}

// Bytes of a body that are not all the same, so a byte out of place shows.
std::string Patterned(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST_F(ServerBodyTest, BytesThatCameWithTheHeaderAndLaterLandInOrder) {
  int fd = Connect();
  const std::string body = Patterned((3 << 20) + 777);
  // The header and the first 100,000 bytes in one send: the parser's buffer holds them.
  SendAll(fd, "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 100'000));
  std::this_thread::sleep_for(50ms);
  for (size_t at = 100'000; at < body.size(); at += 65'000)
    SendAll(fd, std::string_view(body).substr(at, 65'000));
  std::string out = ReadAll(fd, 2000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out.substr(0, 200);
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(sizes_, (std::vector<size_t>{1 << 20, 1 << 20, 1 << 20, 777}));
  EXPECT_TRUE(data_ == body);
}

TEST_F(ServerBodyTest, APipelinedRequestAfterTheBodyIsServedNext) {
  int fd = Connect();
  const std::string first = Patterned((1 << 20) + 5);
  // The whole first request, then the second, back to back: reading the first body must stop
  // at its end.
  SendAll(
      fd,
      "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(first.size()) +
          "\r\n\r\n" + first +
          "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc");
  std::string out = ReadAll(fd, 3000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out.substr(0, 200);
  const size_t second = out.find("HTTP/1.1 200", 12);
  EXPECT_NE(second, std::string::npos) << out;
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(sizes_, std::vector<size_t>{3});  // the last request's reads
  EXPECT_EQ(data_, "abc");
}

TEST_F(ServerBodyTest, AHandlerSlowerThanTheBodyTimeoutDoesNotTimeTheClientOut) {
  // The timeout measures the client's stalls while a read waits, not the handler's work between
  // reads (600 ms after each span here, with a 400 ms timeout).
  int fd = Connect();
  const std::string body = Patterned((2 << 20) + 10);
  SendAll(fd, "POST /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n");
  SendAll(fd, body);
  std::string out = ReadAll(fd, 4000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out.substr(0, 200);
  ASSERT_TRUE(WaitDone());
  std::lock_guard lock(mu_);
  EXPECT_EQ(sizes_, (std::vector<size_t>{1 << 20, 1 << 20, 10}));
  EXPECT_TRUE(data_ == body);
}

TEST_F(ServerBodyTest, AStallAfterProgressTimesOutAfterTheTimeoutNotBefore) {
  // 150 ms pauses keep the client alive; then a stall of 400 ms (the timeout) ends it.
  int fd = Connect();
  SendAll(fd, "POST /read HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\n");
  for (int i = 0; i < 6; ++i) {
    SendAll(fd, "ab");
    std::this_thread::sleep_for(150ms);
  }
  const auto last_byte = std::chrono::steady_clock::now() - 150ms;
  ASSERT_TRUE(WaitDone());
  const auto ended = std::chrono::steady_clock::now();
  close(fd);
  std::lock_guard lock(mu_);
  EXPECT_EQ(end_.code(), Code::kTimeout) << end_.ToString();
  EXPECT_GE(ended - last_byte, 390ms);
}

}  // namespace
}  // namespace portico::http

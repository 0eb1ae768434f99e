// The HTTP server and client over real loopback sockets.
#include "core/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/http/client.h"
#include "raw_socket.h"

namespace portico::http {
namespace {

using namespace std::chrono_literals;
using testing::ReadAll;
using testing::SendAll;

class CountingSource final : public BodySource {
 public:
  explicit CountingSource(uint64_t total) : left_(total) {}
  StatusOr<size_t> Read(std::span<char> buf) override {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left_, buf.size()));
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>('a' + (i % 26));
    left_ -= n;
    return n;
  }

 private:
  uint64_t left_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router r;
    r.Add("GET", "/hello", [](Request& req) {
      return Response::Json(
          200, {{"hello", "world"}, {"q", std::string(req.QueryParam("q").value_or(""))}});
    });
    r.Add(
        "POST", "/echo",
        [](Request& req) {
          auto body = req.body->ReadAll(1024);
          if (!body.ok()) return Response::Error(body.status());
          return Response::Text(200, *body);
        },
        RouteOptions{.max_body_bytes = 1024});
    r.Add(
        "POST", "/upload",
        [](Request& req) {
          std::vector<char> buf(100'000);
          uint64_t total = 0, sum = 0;
          for (;;) {
            auto n = req.body->Read(buf);
            if (!n.ok()) return Response::Error(n.status());
            if (*n == 0) break;
            for (size_t i = 0; i < *n; ++i) sum += static_cast<unsigned char>(buf[i]);
            total += *n;
          }
          return Response::Json(200, {{"bytes", total}, {"sum", sum}});
        },
        RouteOptions{.max_body_bytes = 200ull << 20, .stream_body = true});
    r.Add(
        "POST", "/refuse", [](Request&) { return Response::Error(Unauthenticated("no token")); },
        RouteOptions{.max_body_bytes = 1ull << 30, .stream_body = true});
    r.Add("GET", "/download/{size}", [](Request& req) {
      Response res;
      uint64_t size = std::stoull(std::string(req.PathParam("size")));
      res.stream = std::make_unique<CountingSource>(size);
      if (!req.QueryParam("chunked")) res.stream_length = size;
      return res;
    });
    r.Add("GET", "/framing", [](Request&) {
      Response res = Response::Text(200, "framed");
      res.headers.Add("X-Evil", "a\r\nSet-Cookie: stolen=1");
      res.headers.Add("Content-Length", "999");
      res.headers.Add("Connection", "close");
      res.headers.Add("Transfer-Encoding", "chunked");
      return res;
    });
    r.Add("GET", "/empty", [](Request&) {
      Response res = Response::NoContent();
      res.body = "never sent";
      return res;
    });
    r.Add("GET", "/big/{size}", [](Request& req) {
      const size_t size = std::stoull(std::string(req.PathParam("size")));
      std::string body(size, 'x');
      for (size_t i = 0; i < size; i += 4096) body[i] = static_cast<char>('a' + (i / 4096) % 26);
      return Response::Text(200, std::move(body));
    });
    r.Add("GET", "/throws",
          [](Request&) -> Response { throw std::runtime_error("secret detail"); });
    ServerOptions o;
    o.service = "test";
    o.header_timeout = 500ms;
    o.access_log = false;
    server_ = std::make_unique<Server>(o, std::move(r), &metrics_);
    ASSERT_TRUE(server_->Start().ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(1000ms); }

  int Connect() {
    int fd = testing::ConnectLoopback(server_->port());
    EXPECT_GE(fd, 0);
    return fd;
  }

  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::string base_;
  HttpClient client_;
};

TEST_F(ServerTest, KeepAliveReusesOneConnection) {
  for (int i = 0; i < 5; ++i) {
    auto r = client_.Send({.url = base_ + "/hello?q=%C3%A9t%C3%A9"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Json()["q"], "\xC3\xA9t\xC3\xA9");
    EXPECT_TRUE(r->headers.Get("X-Request-Id"));
  }
  EXPECT_NE(metrics_.Render().find("http_connections_total{service=\"test\"} 1\n"),
            std::string::npos);
}

TEST_F(ServerTest, RequestIdIsEchoedWhenWellFormed) {
  ClientRequest req{.url = base_ + "/hello"};
  req.headers.Set("X-Request-Id", "abc-123");
  auto r = client_.Send(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->headers.Get("X-Request-Id"), "abc-123");
  req.headers.Set("X-Request-Id", "bad id with spaces");
  r = client_.Send(req);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r->headers.Get("X-Request-Id"), "bad id with spaces");
}

TEST_F(ServerTest, UnknownPathAndMethodAreJsonErrors) {
  auto r = client_.Send({.url = base_ + "/nope"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Json()["error"], "not_found");
  r = client_.Send({.method = "DELETE", .url = base_ + "/hello"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(*r->headers.Get("Allow"), "GET");
}

TEST_F(ServerTest, BufferedBodyAndItsLimit) {
  auto r = client_.Send({.method = "POST", .url = base_ + "/echo", .body = "ping"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "ping");
  r = client_.Send({.method = "POST", .url = base_ + "/echo", .body = std::string(2000, 'x')});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Json()["error"], "payload_too_large");
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIsRefused) {
  int fd = Connect();
  std::string chunk(600, 'x');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  std::string(size) + "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk +
                  "\r\n0\r\n\r\n");
  std::string out = ReadAll(fd);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 413");
}

TEST_F(ServerTest, StreamsLargeUploadsAndDownloads) {
  CountingSource src(30'000'000);
  auto r = client_.Send(
      {.method = "POST", .url = base_ + "/upload", .body_source = &src, .body_length = 30'000'000});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Json()["bytes"], 30'000'000);
  CountingSource chunked_src(5'000'000);
  r = client_.Send({.method = "POST", .url = base_ + "/upload", .body_source = &chunked_src});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Json()["bytes"], 5'000'000);
  for (std::string q : {"", "?chunked=1"}) {
    uint64_t got = 0;
    bool pattern_ok = true;
    r = client_.Send({.url = base_ + "/download/20000000" + q}, [&](std::string_view piece) {
      for (char c : piece) {
        if (c < 'a' || c > 'z') pattern_ok = false;
      }
      got += piece.size();
      return Status::Ok();
    });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(got, 20'000'000u);
    EXPECT_TRUE(pattern_ok);
  }
}

TEST_F(ServerTest, ExpectContinueIsNotAnsweredWhenTheHandlerRefuses) {
  int fd = Connect();
  SendAll(fd,
          "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\nExpect: "
          "100-continue\r\n\r\n");
  std::string out = ReadAll(fd, 2000ms);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 401");
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
}

TEST_F(ServerTest, ExpectContinueIsAnsweredWhenTheHandlerReads) {
  int fd = Connect();
  SendAll(fd,
          "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1);
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).substr(0, 12), "HTTP/1.1 100");
  SendAll(fd, "abc");
  std::string out = ReadAll(fd, 1000ms);
  close(fd);
  EXPECT_NE(out.find("\"bytes\":3"), std::string::npos);
}

TEST_F(ServerTest, GarbageGetsJson400AndClose) {
  int fd = Connect();
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 7919) & 0xff);
  SendAll(fd, garbage);
  std::string out = ReadAll(fd);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 400");
  EXPECT_NE(out.find("\"error\":\"invalid_request\""), std::string::npos);
}

TEST_F(ServerTest, HugeHeaderLineGets431) {
  int fd = Connect();
  SendAll(fd, "GET /hello HTTP/1.1\r\nX-Big: " + std::string(10 << 20, 'a') + "\r\n\r\n");
  std::string out = ReadAll(fd);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 431");
}

TEST_F(ServerTest, SlowLorisIsCutWithoutSlowingOthers) {
  std::vector<int> slow;
  for (int i = 0; i < 20; ++i) {
    int fd = Connect();
    SendAll(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n");
    slow.push_back(fd);
  }
  // Others are served at once while the slow headers dribble.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    auto r = client_.Send({.url = base_ + "/hello"});
    ASSERT_TRUE(r.ok());
    SendAll(slow[static_cast<size_t>(i)], "X-Drip: 1\r\n");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms);
  // The header deadline (500 ms here) closes every slow connection.
  for (int fd : slow) {
    std::string out = ReadAll(fd, 3000ms);
    EXPECT_TRUE(out.empty() || out.substr(0, 12) == "HTTP/1.1 408") << out.substr(0, 40);
    close(fd);
  }
}

TEST_F(ServerTest, BodyLongerThanContentLengthIsNotSmuggled) {
  int fd = Connect();
  SendAll(fd,
          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGARBAGE-NOT-HTTP\r\n\r\n");
  std::string out = ReadAll(fd);
  close(fd);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200");
  auto second = out.find("HTTP/1.1 400", 12);
  EXPECT_NE(second, std::string::npos) << out;
}

TEST_F(ServerTest, HandlerExceptionIsAPlain500) {
  auto r = client_.Send({.url = base_ + "/throws"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("secret detail"), std::string::npos);
  EXPECT_EQ(r->Json()["error"], "server_error");
}

// The server frames every in-memory response itself: a handler's framing or connection fields
// are dropped, CR/LF in a field value cannot start a new header, 204 carries neither
// Content-Length nor a body, and the keep-alive connection serves the next request right after.
TEST_F(ServerTest, ResponseFramingBelongsToTheServer) {
  int fd = Connect();
  SendAll(fd,
          "GET /framing HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
          "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string out = ReadAll(fd);
  close(fd);
  const auto second = out.find("HTTP/1.1 204 No Content\r\n");
  ASSERT_NE(second, std::string::npos) << out;
  const std::string first = out.substr(0, second);
  EXPECT_EQ(first.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_NE(first.find("X-Evil: a  Set-Cookie: stolen=1\r\n"), std::string::npos) << first;
  EXPECT_EQ(first.find("\r\nSet-Cookie"), std::string::npos);
  EXPECT_NE(first.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_EQ(first.find("999"), std::string::npos);
  EXPECT_EQ(first.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(first.find("Connection"), std::string::npos);
  EXPECT_EQ(first.substr(first.size() - 10), "\r\n\r\nframed");
  const auto third = out.find("HTTP/1.1 200 OK\r\n", second);
  ASSERT_NE(third, std::string::npos) << out;
  const std::string no_content = out.substr(second, third - second);
  EXPECT_EQ(no_content.find("Content-Length"), std::string::npos) << no_content;
  EXPECT_EQ(no_content.find("never sent"), std::string::npos);
  EXPECT_EQ(no_content.substr(no_content.size() - 4), "\r\n\r\n");
  // HEAD: the length of the body it would have, and no body.
  const auto fourth = out.find("HTTP/1.1 200 OK\r\n", third + 1);
  ASSERT_NE(fourth, std::string::npos) << out;
  const std::string head = out.substr(third, fourth - third);
  EXPECT_NE(head.find("Content-Length: 24\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  const std::string last = out.substr(fourth);
  EXPECT_NE(last.find("Connection: close\r\n"), std::string::npos) << last;
  EXPECT_EQ(last.substr(last.size() - 28),
            "\r\n\r\n"
            R"({"hello":"world","q":""})");
}

// An in-memory body larger than the socket takes at once: the rest goes out as the client reads,
// byte for byte, to a client that reads slowly.
TEST_F(ServerTest, LargeInMemoryBodyReachesASlowReader) {
  int fd = Connect();
  const size_t size = 24 << 20;
  SendAll(fd,
          "GET /big/" + std::to_string(size) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::this_thread::sleep_for(200ms);  // the server's first write fills the socket and must wait
  std::string out = ReadAll(fd, 10000ms);
  close(fd);
  const auto end = out.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_NE(out.find("Content-Length: " + std::to_string(size) + "\r\n"), std::string::npos);
  const std::string body = out.substr(end + 4);
  ASSERT_EQ(body.size(), size);
  for (size_t i = 0; i < size; i += 4096) {
    ASSERT_EQ(body[i], static_cast<char>('a' + (i / 4096) % 26)) << i;
  }
}

TEST_F(ServerTest, ClientReportsAnUnreachableServer) {
  server_->Stop(100ms);
  auto r = client_.Send({.url = base_ + "/hello"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace portico::http

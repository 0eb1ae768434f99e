// The HTTP/1.1 server every service runs on.
//
// Connections are served by coroutines on a few I/O threads; handlers run on a separate pool of
// blocking threads, so a handler may query the database or hash a file without stalling other
// connections. Per connection: keep-alive; an idle timeout between requests; a deadline for the
// whole request header from its first byte (slow-loris); a hard header-size cap, then the
// route's own header and body limits (413 before any body byte is read when Content-Length is
// too big); `Expect: 100-continue` answered only when the handler first reads the body (so a
// request refused on its headers never uploads); request ids taken from `X-Request-Id` when well
// formed, or made, and echoed back; one JSON access-log line and metrics per request. Anything
// that is not HTTP gets a JSON 400 (or 431 for huge headers) and the connection is closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/http/router.h"
#include "core/metrics.h"
#include "core/status.h"

namespace portico::http {

struct ServerOptions {
  std::string service = "portico";  // names the service in logs and metrics
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; port() tells which
  int io_threads = 1;
  int handler_threads = 16;
  size_t max_header_bytes = 64 * 1024;  // hard cap while parsing; routes may allow less
  std::chrono::milliseconds header_timeout{10'000};  // from the first byte of a request header
  std::chrono::milliseconds body_timeout{30'000};    // the longest wait for more body bytes
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};   // the longest a client may stall a response
  size_t max_connections = 10'000;
  bool access_log = true;
};

class Server {
 public:
  Server(ServerOptions options, Router router, Metrics* metrics);
  ~Server();  // stops if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (connections wait in the backlog); port() is known afterwards.
  Status Listen();
  // Starts serving on background threads (listening first if needed).
  Status Start();
  // The bound port (after Start).
  uint16_t port() const;
  // Stops accepting, closes idle connections, lets requests in flight finish for up to `grace`,
  // then closes everything and joins the threads. Safe to call twice.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000));

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace portico::http

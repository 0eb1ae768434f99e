// Maps a method and a decoded path to a handler and its limits. Patterns are '/'-separated
// segments: a literal, `{name}` (one segment), or a final `{name*}` (the rest of the path,
// possibly empty). A HEAD request falls back to the GET route. Literal segments win over
// parameters. Built once at start-up, then read-only: thread-safe for concurrent Match calls.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/message.h"

namespace portico::http {

using Handler = std::function<Response(Request&)>;

struct RouteOptions {
  // The largest request body accepted; a bigger Content-Length is refused with 413 before any
  // body byte is read (and before `100 Continue`).
  uint64_t max_body_bytes = 64 * 1024;
  // The largest request header block (request line and fields) accepted for this route, at most
  // the server's own limit.
  size_t max_header_bytes = 16 * 1024;
  // false: the server reads the whole body (up to max_body_bytes) on the I/O thread before the
  // handler runs, so a slow client never holds a handler thread. true: the handler reads it live
  // from the network with back-pressure (large uploads).
  bool stream_body = false;
  // true: the handler runs on the I/O thread that read the request instead of the handler pool,
  // saving two thread switches (tens of microseconds). Only for handlers that finish in well
  // under a millisecond and never wait on the network or on a lock held for long: while one
  // runs, the other connections of that I/O thread wait. Not allowed with stream_body.
  bool run_inline = false;
  // A stable name for metrics and logs; defaults to the pattern.
  std::string name;
  // One line for the OpenAPI document.
  std::string summary;
  // OpenAPI security: "bearer", "client" (OAuth client credentials in the body) or "" (none).
  std::string auth;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  std::vector<std::string> segments;
};

struct RouteMatch {
  const Route* route = nullptr;  // null when nothing matched
  std::vector<std::pair<std::string, std::string>> params;
  // When the path matched but the method did not: the methods that would (for 405 + Allow).
  std::vector<std::string> allowed_methods;
};

class Router {
 public:
  // Registers a route. Aborts on a malformed pattern or a duplicate (a programming error).
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  RouteMatch Match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return *routes_; }
  // The same list, shared: it stays valid (and sees later additions) when the Router is moved.
  std::shared_ptr<const std::vector<Route>> shared_routes() const { return routes_; }

 private:
  std::shared_ptr<std::vector<Route>> routes_ = std::make_shared<std::vector<Route>>();
};

}  // namespace portico::http

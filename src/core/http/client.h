// A blocking HTTP/1.1 client for service-to-service calls, the CLI and tests. Keeps idle
// keep-alive connections per host and reuses them; a request on a reused connection that the
// server had already closed is retried once on a fresh one (only when its body is in memory).
// Forwards the calling thread's request id (log::CurrentRequestId) as X-Request-Id.
// Thread-safe: concurrent Sends use separate connections. Plain http:// only for now.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/http/message.h"
#include "core/status.h"

namespace portico::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds io_timeout{60'000};  // the longest wait for any read or write
  uint64_t max_response_bytes = 64ull << 20;     // for buffered responses
  size_t max_idle_connections = 8;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // absolute: http://host:port/path?query
  Headers headers;
  std::string body;
  // When set, the body is streamed from here (with `body_length` as Content-Length, or chunked).
  BodySource* body_source = nullptr;
  std::optional<uint64_t> body_length;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;  // empty when a sink consumed it
  // The body parsed as JSON (a null value if it is not JSON).
  nlohmann::json Json() const;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads the whole response. A non-2xx status is not an error here; a
  // failure to connect, a timeout or a malformed response is (kUnavailable / kTimeout).
  StatusOr<ClientResponse> Send(const ClientRequest& request);
  // As Send, but hands the body to `sink` piece by piece (constant memory); an error from the
  // sink aborts the transfer and is returned.
  StatusOr<ClientResponse> Send(const ClientRequest& request,
                                const std::function<Status(std::string_view)>& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// OK for a 2xx response; otherwise the Status its JSON error body describes (error and
// error_description), with the Code of its HTTP status.
Status StatusFromResponse(const ClientResponse& response);

// application/x-www-form-urlencoded encoding of fields, in order.
std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace portico::http

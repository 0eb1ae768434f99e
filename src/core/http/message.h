// The plain HTTP types handlers see: Headers, Request, Response, and the streaming body
// interfaces. No Beast or Asio type appears here; the server and client translate.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace portico::http {

// An ordered list of header fields with case-insensitive names. Not thread-safe.
class Headers {
 public:
  // Appends a field (a name may repeat).
  void Add(std::string name, std::string value);
  // Replaces every field of that name by one.
  void Set(std::string name, std::string value);
  void Remove(std::string_view name);
  // The first value of a field, if present.
  std::optional<std::string_view> Get(std::string_view name) const;
  // How many fields of that name there are (duplicate Authorization or Content-Type headers
  // are refused by handlers that care).
  size_t Count(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// A request body read in order, in pieces, with back-pressure: the next bytes are read from the
// network only when the handler asks. Blocking; called from the handler's thread.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to `buf.size()` bytes into `buf`. Returns the count, or 0 at the end of the body.
  // Fails when the body exceeds the route's limit (kPayloadTooLarge), the client stalls past the
  // read timeout (kTimeout), or the connection breaks (kInvalidArgument).
  virtual StatusOr<size_t> Read(std::span<char> buf) = 0;

  // Reads the rest of the body into a string; fails with kPayloadTooLarge beyond `max_bytes`.
  StatusOr<std::string> ReadAll(size_t max_bytes);
};

// A BodyReader over bytes already in memory.
class StringBodyReader final : public BodyReader {
 public:
  explicit StringBodyReader(std::string data) : data_(std::move(data)) {}
  StatusOr<size_t> Read(std::span<char> buf) override;

 private:
  std::string data_;
  size_t offset_ = 0;
};

// A response body produced in pieces, pulled by the server on the handler pool as the client
// accepts bytes (back-pressure). Blocking calls are allowed.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills `buf` with the next bytes; returns the count, 0 at the end. An error aborts the
  // response (the connection is closed, since the status line is already sent).
  virtual StatusOr<size_t> Read(std::span<char> buf) = 0;
};

struct Request {
  std::string method;                                      // upper case, as sent
  std::string target;                                      // the raw request target, path and query
  std::string path;                                        // the percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  std::vector<std::pair<std::string, std::string>> path_params;  // from the route pattern
  std::string request_id;
  std::string remote_address;
  std::optional<uint64_t> content_length;
  BodyReader* body = nullptr;  // never null inside a handler

  // The value of a path parameter (empty if the route has none of that name).
  std::string_view PathParam(std::string_view name) const;
  // The first value of a query parameter.
  std::optional<std::string_view> QueryParam(std::string_view name) const;
  // The media type of Content-Type, lower-cased, without parameters ("" if absent).
  std::string MediaType() const;
  // The bearer token of the Authorization header, if it has exactly one.
  std::optional<std::string_view> BearerToken() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the body is streamed from here instead of `body`.
  std::unique_ptr<BodySource> stream;
  // The length of `stream` if known (sent as Content-Length; otherwise chunked).
  std::optional<uint64_t> stream_length;

  static Response Json(int status, const nlohmann::json& body);
  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // The JSON error body of SPEC §6 with the status's HTTP code.
  static Response Error(const Status& status);
  static Response NoContent();
};

}  // namespace portico::http

// Status and StatusOr<T>: how every fallible operation reports failure across module boundaries
// and on the request path. Exceptions are kept for start-up and configuration only.
//
// A Status carries three things:
//   - a Code, which decides the HTTP status (the one mapping lives in HttpStatusFor);
//   - an error id, the stable machine-readable `error` of the JSON body (e.g. "invalid_grant");
//   - a message, the human-readable `error_description`. Messages are shown to clients, so they
//     must say what is wrong without quoting a secret.
#pragma once

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace portico {

enum class Code {
  kOk,
  kInvalidArgument,      // 400: the request is malformed or a value is out of range
  kUnauthenticated,      // 401: credentials missing or wrong
  kPermissionDenied,     // 403: authenticated but not allowed
  kNotFound,             // 404
  kMethodNotAllowed,     // 405
  kConflict,             // 409: already exists, or a state conflict
  kPreconditionFailed,   // 412 / 409-style domain precondition
  kPayloadTooLarge,      // 413
  kUnsupportedMedia,     // 415
  kRangeNotSatisfiable,  // 416
  kTooManyRequests,      // 429
  kInternal,             // 500: a server fault, never the client's
  kUnavailable,          // 503: a dependency is down; retry later
  kTimeout,              // 504 / request timeout
};

// The HTTP status a Code maps to. The single place this mapping is written.
int HttpStatusFor(Code code);

// The Code a received HTTP status stands for (the inverse of HttpStatusFor, for clients).
Code CodeForHttpStatus(int http_status);

// The default `error` id for a Code when none is given ("invalid_request", "not_found", ...).
std::string_view DefaultErrorId(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string error, std::string message)
      : code_(code), error_(std::move(error)), message_(std::move(message)) {}
  Status(Code code, std::string message)
      : code_(code), error_(DefaultErrorId(code)), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& error() const { return error_; }
  const std::string& message() const { return message_; }
  int http_status() const { return HttpStatusFor(code_); }

  // "error: message", for logs and test failure output.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string error_;
  std::string message_;
};

// Shorthands for the common cases; each returns a non-OK Status.
Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status Conflict(std::string message);
Status Unauthenticated(std::string message);
Status PermissionDenied(std::string message);
Status Internal(std::string message);
Status Unavailable(std::string message);

// OAuth 2.0 errors (RFC 6749 §5.2) with their statuses.
Status OAuthInvalidRequest(std::string message);        // 400 invalid_request
Status OAuthInvalidClient(std::string message);         // 401 invalid_client
Status OAuthInvalidGrant(std::string message);          // 400 invalid_grant
Status OAuthUnsupportedGrantType(std::string message);  // 400 unsupported_grant_type
Status OAuthInvalidScope(std::string message);          // 400 invalid_scope
Status OAuthInvalidToken(std::string message);          // 401 invalid_token

// Either a value or a non-OK Status. Accessing the value of an error aborts.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) std::abort();     // an OK status carries no value: a bug
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return Get(); }
  const T& value() const& { return const_cast<StatusOr*>(this)->Get(); }
  T&& value() && { return std::move(Get()); }
  T& operator*() & { return Get(); }
  const T& operator*() const& { return const_cast<StatusOr*>(this)->Get(); }
  T* operator->() { return &Get(); }
  const T* operator->() const { return &const_cast<StatusOr*>(this)->Get(); }

 private:
  T& Get() {
    if (!ok()) std::abort();
    return std::get<T>(v_);
  }
  std::variant<T, Status> v_;
};

}  // namespace portico

// Early-return helpers. PORTICO_ASSIGN_OR_RETURN(auto x, Expr()) declares x or returns the error.
#define PORTICO_RETURN_IF_ERROR(expr) \
  do {                                \
    ::portico::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#define PORTICO_CONCAT_INNER(a, b) a##b
#define PORTICO_CONCAT(a, b) PORTICO_CONCAT_INNER(a, b)
#define PORTICO_ASSIGN_OR_RETURN(lhs, expr) \
  PORTICO_ASSIGN_OR_RETURN_IMPL(PORTICO_CONCAT(_status_or_, __LINE__), lhs, expr)
#define PORTICO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

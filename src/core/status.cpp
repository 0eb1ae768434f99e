#include "core/status.h"

namespace portico {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kMethodNotAllowed:
      return 405;
    case Code::kConflict:
      return 409;
    case Code::kPreconditionFailed:
      return 412;
    case Code::kPayloadTooLarge:
      return 413;
    case Code::kUnsupportedMedia:
      return 415;
    case Code::kRangeNotSatisfiable:
      return 416;
    case Code::kTooManyRequests:
      return 429;
    case Code::kInternal:
      return 500;
    case Code::kUnavailable:
      return 503;
    case Code::kTimeout:
      return 408;
  }
  return 500;
}

Code CodeForHttpStatus(int s) {
  switch (s) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 405:
      return Code::kMethodNotAllowed;
    case 408:
      return Code::kTimeout;
    case 409:
      return Code::kConflict;
    case 412:
      return Code::kPreconditionFailed;
    case 413:
      return Code::kPayloadTooLarge;
    case 415:
      return Code::kUnsupportedMedia;
    case 416:
      return Code::kRangeNotSatisfiable;
    case 429:
      return Code::kTooManyRequests;
    case 503:
      return Code::kUnavailable;
    default:
      break;
  }
  if (s >= 200 && s < 300) return Code::kOk;
  if (s >= 500) return Code::kInternal;
  return Code::kInvalidArgument;
}

std::string_view DefaultErrorId(Code code) {
  switch (code) {
    case Code::kOk:
      return "";
    case Code::kInvalidArgument:
      return "invalid_request";
    case Code::kUnauthenticated:
      return "unauthorized";
    case Code::kPermissionDenied:
      return "forbidden";
    case Code::kNotFound:
      return "not_found";
    case Code::kMethodNotAllowed:
      return "method_not_allowed";
    case Code::kConflict:
      return "conflict";
    case Code::kPreconditionFailed:
      return "precondition_failed";
    case Code::kPayloadTooLarge:
      return "payload_too_large";
    case Code::kUnsupportedMedia:
      return "unsupported_media_type";
    case Code::kRangeNotSatisfiable:
      return "range_not_satisfiable";
    case Code::kTooManyRequests:
      return "too_many_requests";
    case Code::kInternal:
      return "server_error";
    case Code::kUnavailable:
      return "temporarily_unavailable";
    case Code::kTimeout:
      return "request_timeout";
  }
  return "server_error";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return error_ + ": " + message_;
}

Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

Status OAuthInvalidRequest(std::string m) {
  return {Code::kInvalidArgument, "invalid_request", std::move(m)};
}
Status OAuthInvalidClient(std::string m) {
  return {Code::kUnauthenticated, "invalid_client", std::move(m)};
}
Status OAuthInvalidGrant(std::string m) {
  return {Code::kInvalidArgument, "invalid_grant", std::move(m)};
}
Status OAuthUnsupportedGrantType(std::string m) {
  return {Code::kInvalidArgument, "unsupported_grant_type", std::move(m)};
}
Status OAuthInvalidScope(std::string m) {
  return {Code::kInvalidArgument, "invalid_scope", std::move(m)};
}
Status OAuthInvalidToken(std::string m) {
  return {Code::kUnauthenticated, "invalid_token", std::move(m)};
}

}  // namespace portico

// Form bodies: application/x-www-form-urlencoded and multipart/form-data.
//
// MultipartReader streams a multipart body part by part in constant memory (uploads of any size
// go through it); ReadForm reads a small form of either encoding into fields. Not thread-safe:
// one reader belongs to one request.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http/message.h"
#include "core/status.h"

namespace portico::http {

struct FormFields {
  std::vector<std::pair<std::string, std::string>> fields;  // decoded, in order
  std::optional<std::string_view> Get(std::string_view name) const;
  size_t Count(std::string_view name) const;
};

// Decodes a url-encoded form. '+' is a space; a malformed percent escape, a NUL or invalid
// UTF-8 in a name or value is refused.
StatusOr<FormFields> ParseUrlEncodedForm(std::string_view body);

struct MultipartLimits {
  size_t max_parts = 64;
  size_t max_part_header_bytes = 8 * 1024;
};

struct MultipartPart {
  std::string name;                     // from Content-Disposition
  std::optional<std::string> filename;  // present for file parts
  std::string content_type;             // "" if absent
};

// The boundary parameter of a multipart/form-data Content-Type, validated (RFC 2046: 1 to 70
// characters of the allowed set).
StatusOr<std::string> MultipartBoundary(std::string_view content_type);

class MultipartReader {
 public:
  MultipartReader(BodyReader& body, const std::string& boundary, MultipartLimits limits = {});

  // Moves to the next part, skipping what is left of the current one. Returns nullopt after the
  // closing delimiter. Fails on a malformed body (kInvalidArgument) or too many parts.
  StatusOr<std::optional<MultipartPart>> NextPart();
  // Reads the current part's bytes; 0 at its end.
  StatusOr<size_t> Read(std::span<char> buf);

 private:
  enum class State { kPreamble, kHeaders, kData, kDone };
  Status Fill();  // reads more of the body into buffer_; sets eof_
  Status SkipPreamble();

  BodyReader& body_;
  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  std::string buffer_;
  size_t pos_ = 0;  // consumed prefix of buffer_
  bool eof_ = false;
  State state_ = State::kPreamble;
  size_t parts_ = 0;
};

struct FormLimits {
  size_t max_body_bytes = 64 * 1024;
  size_t max_field_bytes = 32 * 1024;
};

// Reads the request body as a form of either encoding (by Content-Type). File parts of a
// multipart form become fields with their contents. Fails with kUnsupportedMedia for another
// Content-Type.
StatusOr<FormFields> ReadForm(Request& request, const FormLimits& limits = {});

}  // namespace portico::http

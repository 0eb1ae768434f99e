// The one `Range` form the portal serves (RFC 9110 §14): a single byte range, `bytes=a-b`,
// `bytes=a-` or `bytes=-n`. Anything else that asks for a range is refused with 416 and a JSON
// error rather than served partially: several ranges (the response would be multipart and
// hostile lists cost memory), malformed specs, and ranges that start at or beyond the end.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace portico::portal {

// An inclusive byte range within a representation of known size.
struct ByteRange {
  int64_t first = 0;
  int64_t last = 0;  // inclusive; last >= first
  int64_t length() const { return last - first + 1; }
};

// Parses one Range header value against a representation of `size` bytes. Returns nullopt when
// the header does not ask for bytes (another unit: the whole representation is served, as RFC
// 9110 allows); a range clipped to the end of the representation when it is satisfiable; or
// RangeNotSatisfiable (416) with error id "invalid_range" (malformed, or longer than 256
// characters), "multiple_ranges" (a comma-separated list) or "range_not_satisfiable" (starts at
// or beyond the end, an empty suffix, or any range of an empty representation).
StatusOr<std::optional<ByteRange>> ParseRange(std::string_view header, int64_t size);

// The range to serve for a request: none without a Range header, or when `if_range` is present
// and is not the representation's strong ETag (then the whole representation is served).
// `range_count` is how many Range fields the request had: more than one is "multiple_ranges".
StatusOr<std::optional<ByteRange>> SelectRange(std::optional<std::string_view> range,
                                               size_t range_count,
                                               std::optional<std::string_view> if_range,
                                               std::string_view etag, int64_t size);

}  // namespace portico::portal

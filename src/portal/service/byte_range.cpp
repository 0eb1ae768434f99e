#include "portal/service/byte_range.h"

#include <algorithm>
#include <limits>

namespace portico::portal {
namespace {

constexpr size_t kMaxRangeHeader = 256;
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

Status Invalid(std::string message) {
  return Status(Code::kRangeNotSatisfiable, "invalid_range", std::move(message));
}

Status Unsatisfiable(int64_t size) {
  return Status(Code::kRangeNotSatisfiable, "range_not_satisfiable",
                "the range is outside the file, which has " + std::to_string(size) + " bytes");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Decimal digits only (at least one); values past int64 saturate (they are beyond any end).
std::optional<int64_t> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    int d = c - '0';
    if (v > (kSaturated - d) / 10) {
      v = kSaturated;
    } else {
      v = v * 10 + d;
    }
  }
  return v;
}

}  // namespace

StatusOr<std::optional<ByteRange>> ParseRange(std::string_view header, int64_t size) {
  if (header.size() > kMaxRangeHeader) return Invalid("the Range header is too long");
  std::string_view h = Trim(header);
  size_t eq = h.find('=');
  if (eq == std::string_view::npos) return Invalid("the Range header is malformed");
  std::string_view unit = Trim(h.substr(0, eq));
  bool bytes = unit.size() == 5;
  for (size_t i = 0; bytes && i < 5; ++i) bytes = (unit[i] | 0x20) == "bytes"[i];
  if (!bytes) {
    // RFC 9110: a range unit the server does not know is ignored.
    if (unit.empty()) return Invalid("the Range header is malformed");
    return std::optional<ByteRange>();
  }
  std::string_view spec = Trim(h.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) {
    return Status(Code::kRangeNotSatisfiable, "multiple_ranges",
                  "only one byte range per request is served; ask for the ranges one by one");
  }
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return Invalid("a byte range needs a '-'");
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {
    auto n = ParseNumber(b);
    if (!n) return Invalid("the suffix length of the byte range is not a number");
    if (*n == 0 || size == 0) return Unsatisfiable(size);
    int64_t first = *n >= size ? 0 : size - *n;
    return std::optional<ByteRange>(ByteRange{first, size - 1});
  }
  auto first = ParseNumber(a);
  if (!first) return Invalid("the start of the byte range is not a number");
  std::optional<int64_t> last;
  if (!b.empty()) {
    last = ParseNumber(b);
    if (!last) return Invalid("the end of the byte range is not a number");
    if (*last < *first) return Invalid("the byte range ends before it starts");
  }
  if (*first >= size) return Unsatisfiable(size);
  int64_t end = last ? std::min(*last, size - 1) : size - 1;
  return std::optional<ByteRange>(ByteRange{*first, end});
}

StatusOr<std::optional<ByteRange>> SelectRange(std::optional<std::string_view> range,
                                               size_t range_count,
                                               std::optional<std::string_view> if_range,
                                               std::string_view etag, int64_t size) {
  if (!range || range_count == 0) return std::optional<ByteRange>();
  if (range_count > 1) {
    return Status(Code::kRangeNotSatisfiable, "multiple_ranges",
                  "send one Range header with one byte range");
  }
  // Only a strong ETag validates: a date or another tag means the client's copy is stale.
  if (if_range && Trim(*if_range) != etag) return std::optional<ByteRange>();
  return ParseRange(*range, size);
}

}  // namespace portico::portal

#include "protocol/dam_path.h"

#include <cstdint>

namespace portico::protocol {
namespace {

Status Bad(std::string message) {
  return Status(Code::kInvalidArgument, "invalid_path", std::move(message));
}

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

Status ValidateDamName(std::string_view name) {
  if (name.empty()) return Bad("a path segment is empty (\"//\" or a trailing \"/\" inside)");
  if (name.size() > kMaxSegmentBytes) {
    return Bad("a name is longer than " + std::to_string(kMaxSegmentBytes) + " bytes");
  }
  if (name == "." || name == "..") return Bad("\".\" and \"..\" are not allowed in a path");
  if (!IsValidUtf8(name)) return Bad("a name is not valid UTF-8");
  for (char ch : name) {
    auto c = static_cast<uint8_t>(ch);
    if (c == 0) return Bad("a name contains a NUL byte");
    if (c < 0x20 || c == 0x7F) return Bad("a name contains a control character");
    if (ch == '\\') return Bad("a name contains a backslash");
    if (ch == '/') return Bad("a name contains a slash");
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return Bad("a name starts or ends with a space");
  }
  return Status::Ok();
}

StatusOr<std::string> NormalizeDamPath(std::string_view path) {
  if (path.size() > kMaxPathBytes) {
    return Bad("the path is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  if (path.empty() || path.front() != '/') {
    return Bad("the path must be absolute and start with " + std::string(kDamRoot));
  }
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path != kDamRoot && path.substr(0, kDamRoot.size() + 1) != std::string(kDamRoot) + "/") {
    return Bad("the path must start with " + std::string(kDamRoot));
  }
  size_t depth = 0;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    PORTICO_RETURN_IF_ERROR(ValidateDamName(path.substr(start, end - start)));
    if (++depth > kMaxDepth) {
      return Bad("the path is deeper than " + std::to_string(kMaxDepth) + " segments");
    }
    start = end + 1;
  }
  return std::string(path);
}

std::string DamParent(std::string_view canonical_path) {
  if (canonical_path == kDamRoot) return "";
  size_t slash = canonical_path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "";
  return std::string(canonical_path.substr(0, slash));
}

std::string_view DamName(std::string_view canonical_path) {
  size_t slash = canonical_path.rfind('/');
  return slash == std::string_view::npos ? canonical_path : canonical_path.substr(slash + 1);
}

}  // namespace portico::protocol

// The one rule for asset and folder paths, compiled by the author (which names them) and the
// portal (which stores what it is sent): both ends refuse the same hostile paths.
//
// A DAM path is absolute, starts with `/content/dam`, and is a sequence of `/`-separated
// segments. Each segment is valid UTF-8 with no control character (U+0000–U+001F, U+007F), no
// backslash, is not `.` or `..`, has no leading or trailing space, and is at most 255 bytes; a
// path has at most 64 segments and 4,096 bytes. A trailing slash is dropped; an empty segment
// (`//`) is refused rather than collapsed, so two spellings never name one object.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace portico::protocol {

inline constexpr std::string_view kDamRoot = "/content/dam";
inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr size_t kMaxSegmentBytes = 255;
inline constexpr size_t kMaxDepth = 64;

// Returns the canonical form of `path` (no trailing slash) or InvalidArgument with error id
// `invalid_path` and a message naming the rule broken (never echoing bytes that are not UTF-8).
StatusOr<std::string> NormalizeDamPath(std::string_view path);

// Checks one name (a single segment) by the same rules.
Status ValidateDamName(std::string_view name);

// The parent folder of a canonical path ("/content/dam" has none: returns "").
std::string DamParent(std::string_view canonical_path);
// The last segment of a canonical path.
std::string_view DamName(std::string_view canonical_path);

}  // namespace portico::protocol

// Strict JSON parsing for untrusted input, and dumping that never throws.
//
// nlohmann::json::parse accepts duplicate object keys (keeping the last one), which lets two
// parties read different values out of the same document; ParseStrictJson refuses them, and also
// bounds the size and nesting of what it accepts. Both functions are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace portico {

struct JsonLimits {
  // Texts longer than this are refused before parsing starts.
  size_t max_bytes = 1 << 20;
  // The deepest nesting of objects and arrays accepted; a scalar has depth 0, `{}` has depth 1.
  int max_depth = 32;
};

// Parses one JSON text (RFC 8259; no comments, nothing but whitespace after the value).
// Fails with InvalidArgument if the text is larger than limits.max_bytes, is not valid JSON
// (strings must be valid UTF-8), nests deeper than limits.max_depth, or has an object with the
// same key twice at any level. Error messages give a byte position but never quote the text.
StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, const JsonLimits& limits = {});

// Serialises `value` compactly (no whitespace; object keys sorted). Invalid UTF-8 in strings is
// replaced by U+FFFD instead of throwing, so this is safe on any value.
std::string JsonDump(const nlohmann::json& value);

}  // namespace portico

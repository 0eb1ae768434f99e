// Strict JSON parsing for untrusted input, and dumping that never throws.
//
// nlohmann::json::parse accepts duplicate object keys (keeping the last one), which lets two
// parties read different values out of the same document; ParseStrictJson refuses them, and also
// bounds the size and nesting of what it accepts. Both functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace portico {

struct JsonLimits {
  // Texts longer than this are refused before parsing starts.
  size_t max_bytes = 1 << 20;
  // The deepest nesting of objects and arrays accepted; a scalar has depth 0, `{}` has depth 1.
  // At most 256 whatever is asked (the parser recurses).
  int max_depth = 32;
};

// Parses one JSON text (RFC 8259; no comments, nothing but whitespace after the value).
// Fails with InvalidArgument if the text is larger than limits.max_bytes, is not valid JSON
// (strings must be valid UTF-8), nests deeper than limits.max_depth, or has an object with the
// same key twice at any level. Error messages give a byte position but never quote the text.
StatusOr<nlohmann::json> ParseStrictJson(std::string_view text, const JsonLimits& limits = {});

// Serialises `value` compactly (no whitespace; object keys sorted), byte for byte as nlohmann's
// dump() with error_handler_t::replace would: invalid UTF-8 in strings is replaced by U+FFFD
// instead of throwing, so this is safe on any value. Strings are copied a run of plain bytes at a
// time (nlohmann's serializer steps a UTF-8 decoder through every byte, about 30 instructions
// each, which was the largest non-crypto cost of issuing a token).
std::string JsonDump(const nlohmann::json& value);
void AppendJson(std::string& out, const nlohmann::json& value);

// Appends `s` as a JSON string literal (quotes included), as JsonDump would write it.
void AppendJsonQuoted(std::string& out, std::string_view s);

// Builds one flat JSON object as text, members in the order added, without a document tree: for
// the hot paths that answer with a handful of known fields (token claims, token answers). Keys
// are written as given (they are program constants); values are escaped like JsonDump.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(size_t reserve = 256) {
    text_.reserve(reserve);
    text_ += '{';
  }
  JsonObjectWriter& Add(std::string_view key, std::string_view value);
  JsonObjectWriter& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonObjectWriter& Add(std::string_view key, int64_t value);
  JsonObjectWriter& Add(std::string_view key, bool value);
  // `json_text` must already be valid JSON (an array or object built elsewhere).
  JsonObjectWriter& AddRaw(std::string_view key, std::string_view json_text);
  // Closes the object and hands over its text; the writer is empty afterwards.
  std::string Finish();

 private:
  void Key(std::string_view key);
  std::string text_;
};

}  // namespace portico

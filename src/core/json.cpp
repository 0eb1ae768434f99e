#include "core/json.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

namespace portico {
namespace {

using Json = nlohmann::json;

// Key names are document structure, not values, so they may appear in messages; they are still
// clipped and reduced to printable ASCII because the document may be hostile.
std::string PrintableKey(std::string_view key) {
  constexpr size_t kMaxShown = 40;
  std::string out;
  for (char c : key.substr(0, kMaxShown)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (key.size() > kMaxShown) out += "...";
  return out;
}

// A SAX handler that builds the DOM like nlohmann's own, but stops at the first duplicate key or
// at excessive depth. Returning false from any event makes the parser stop.
class StrictDomBuilder {
 public:
  StrictDomBuilder(Json& root, int max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() { return Put(nullptr) != nullptr; }
  bool boolean(bool v) { return Put(v) != nullptr; }
  bool number_integer(Json::number_integer_t v) { return Put(v) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(v) != nullptr; }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Put(v) != nullptr; }
  bool string(Json::string_t& v) { return Put(std::move(v)) != nullptr; }
  bool binary(Json::binary_t& v) { return Put(Json::binary(std::move(v))) != nullptr; }

  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(Json::string_t& key) {
    Json& object = *stack_.back();
    if (object.contains(key)) {
      error_ = InvalidArgument("invalid JSON: duplicate key '" + PrintableKey(key) + "'");
      return false;
    }
    pending_member_ = &object[key];
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const Json::exception& ex) {
    // nlohmann's message quotes the offending input, so only its kind is kept.
    const char* what = ex.id == 406 ? "number out of range" : "syntax error";
    error_ = InvalidArgument("invalid JSON: " + std::string(what) + " at byte " +
                             std::to_string(position));
    return false;
  }

  const Status& error() const { return error_; }

 private:
  // Stores a value at the current position and returns where it went, or nullptr on failure.
  Json* Put(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    // Pointers to array elements on the stack stay valid: a parent array grows only after its
    // open child has been closed and popped.
    *pending_member_ = std::move(value);
    return pending_member_;
  }

  bool Open(Json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      error_ = InvalidArgument("invalid JSON: nesting is deeper than " +
                               std::to_string(max_depth_) + " levels");
      return false;
    }
    Json* placed = Put(std::move(container));
    stack_.push_back(placed);
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  Json& root_;
  const int max_depth_;
  std::vector<Json*> stack_;
  Json* pending_member_ = nullptr;
  Status error_;
};

}  // namespace

StatusOr<Json> ParseStrictJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidArgument("invalid JSON: text is larger than " + std::to_string(limits.max_bytes) +
                           " bytes");
  }
  Json root;
  StrictDomBuilder builder(root, limits.max_depth);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (!ok) {
    if (!builder.error().ok()) return builder.error();
    return InvalidArgument("invalid JSON");
  }
  return root;
}

namespace {

// What a string byte needs: copied as is, escaped, or checked as part of a UTF-8 sequence.
enum : uint8_t { kPlain = 0, kEscape = 1, kMultiByte = 2 };

constexpr std::array<uint8_t, 256> MakeByteClasses() {
  std::array<uint8_t, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    classes[c] = c < 0x20 || c == '"' || c == '\\' ? kEscape : c >= 0x80 ? kMultiByte : kPlain;
  }
  return classes;
}
constexpr std::array<uint8_t, 256> kByteClasses = MakeByteClasses();

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed UTF-8 sequence starting at s[i] (whose first byte is >= 0x80),
// or 0 if it is not one (overlong forms, surrogates and code points above U+10FFFF included).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = at(i);
  const size_t left = s.size() - i;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && IsContinuation(at(i + 1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !IsContinuation(at(i + 1)) || !IsContinuation(at(i + 2))) return 0;
    if (b0 == 0xE0 && at(i + 1) < 0xA0) return 0;  // overlong
    if (b0 == 0xED && at(i + 1) > 0x9F) return 0;  // a surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !IsContinuation(at(i + 1)) || !IsContinuation(at(i + 2)) ||
        !IsContinuation(at(i + 3)))
      return 0;
    if (b0 == 0xF0 && at(i + 1) < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && at(i + 1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void AppendEscape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
  }
}

template <typename Int>
void AppendInteger(std::string& out, Int value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

}  // namespace

void AppendJsonQuoted(std::string& out, std::string_view s) {
  const size_t start = out.size();
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size() && kByteClasses[static_cast<unsigned char>(s[run])] == kPlain) ++run;
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (kByteClasses[c] == kEscape) {
      AppendEscape(out, c);
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      // Invalid UTF-8 is rare and nlohmann's replacement rules are intricate: let it write this
      // string, so the output stays exactly what dump() with error_handler_t::replace gives.
      out.resize(start);
      out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
    }
    out.append(s.data() + i, n);
    i += n;
  }
  out += '"';
}

void AppendJson(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      AppendInteger(out, value.get<Json::number_integer_t>());
      return;
    case Json::value_t::number_unsigned:
      AppendInteger(out, value.get<Json::number_unsigned_t>());
      return;
    case Json::value_t::string:
      AppendJsonQuoted(out, value.get_ref<const Json::string_t&>());
      return;
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, element);
      }
      out += ']';
      return;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        AppendJsonQuoted(out, it.key());
        out += ':';
        AppendJson(out, it.value());
      }
      out += '}';
      return;
    }
    default:
      // Floating-point numbers (nlohmann's shortest-round-trip format) and binary values.
      out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
  }
}

std::string JsonDump(const Json& value) {
  std::string out;
  AppendJson(out, value);
  return out;
}

void JsonObjectWriter::Key(std::string_view key) {
  if (text_.size() > 1) text_ += ',';
  AppendJsonQuoted(text_, key);
  text_ += ':';
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonQuoted(text_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, int64_t value) {
  Key(key);
  AppendInteger(text_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, bool value) {
  Key(key);
  text_ += value ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::AddRaw(std::string_view key, std::string_view json_text) {
  Key(key);
  text_ += json_text;
  return *this;
}

std::string JsonObjectWriter::Finish() {
  text_ += '}';
  return std::move(text_);
}

}  // namespace portico

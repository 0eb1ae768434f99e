#include "core/json.h"

#include "core/byte_scan.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace portico {
namespace {

using Json = nlohmann::json;

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

// The first byte at or after `p` that a JSON string cannot hold as is (a control character, a
// quote, a backslash, or the start of a multi-byte UTF-8 sequence).
const char* SkipPlainJson(const char* p, const char* end) {
  using namespace bytescan;
  return SkipPlain(
      p, end,
      [](uint64_t w) {
        return AnyHigh(w) | AnyBelow(w, 0x20) | AnyEqual(w, '"') | AnyEqual(w, '\\');
      },
      [](unsigned char c) { return kByteClasses[c] != kPlain; });
}

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

// A strict recursive-descent parser that builds nlohmann's DOM directly. nlohmann's own parser
// (through a SAX handler that refused duplicate keys) stepped an input adapter through every byte
// and copied each token twice: parsing a token-exchange assertion took ~35,000 instructions,
// ~5 % of the whole exchange. The grammar and the values match nlohmann's strict parse exactly
// (tests/unit/crypto/json_test.cpp compares the two on mutated documents): the same numbers
// (integers as int64 when negative, uint64 otherwise, doubles beyond either; a double that
// overflows is an error), the same UTF-8 and \u rules, a leading byte order mark skipped. One
// difference on purpose: nlohmann ends the text at a NUL byte outside a string and ignores what
// follows (`{}\0x` parses as `{}`), which lets bytes ride along unseen; here a NUL there is a
// syntax error. The parser recurses, so the depth limit is capped at kMaxDepth.
constexpr int kMaxDepth = 256;  // recursion: a few hundred bytes of stack per level

class StrictParser {
 public:
  StrictParser(std::string_view text, int max_depth)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(max_depth) {}

  Status Parse(Json& out) {
    if (end_ - p_ >= 3 && static_cast<unsigned char>(p_[0]) == 0xEF &&
        static_cast<unsigned char>(p_[1]) == 0xBB && static_cast<unsigned char>(p_[2]) == 0xBF) {
      p_ += 3;
    }
    SkipSpace();
    if (!Value(out, 0)) return error_;
    SkipSpace();
    if (p_ != end_) return Syntax();
    return Status::Ok();
  }

 private:
  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool Fail(Status st) {
    error_ = std::move(st);
    return false;
  }
  Status Syntax() {
    return InvalidArgument("invalid JSON: syntax error at byte " + std::to_string(p_ - begin_));
  }
  bool SyntaxError() { return Fail(Syntax()); }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return SyntaxError();
    p_ += word.size();
    return true;
  }

  bool Value(Json& out, int depth) {
    if (p_ == end_) return SyntaxError();
    switch (*p_) {
      case '{':
        return Object(out, depth);
      case '[':
        return Array(out, depth);
      case '"': {
        std::string s;
        if (!String(s)) return false;
        out = std::move(s);
        return true;
      }
      case 't':
        out = true;
        return Literal("true");
      case 'f':
        out = false;
        return Literal("false");
      case 'n':
        out = nullptr;
        return Literal("null");
      default:
        return Number(out);
    }
  }

  bool Enter(int depth) {
    if (depth >= max_depth_) {
      return Fail(InvalidArgument("invalid JSON: nesting is deeper than " +
                                  std::to_string(max_depth_) + " levels"));
    }
    ++p_;
    SkipSpace();
    return true;
  }

  // At `close` (consumed): true with *closed set. At a comma (consumed, with the space after it):
  // true. Anything else is a syntax error.
  bool CloseOrComma(char close, bool* closed) {
    SkipSpace();
    *closed = p_ != end_ && *p_ == close;
    if (*closed) {
      ++p_;
      return true;
    }
    if (p_ == end_ || *p_ != ',') return SyntaxError();
    ++p_;
    SkipSpace();
    return true;
  }

  // Just after an opening bracket: consumes `close` if the container is empty.
  bool Empty(char close) {
    if (p_ == end_ || *p_ != close) return false;
    ++p_;
    return true;
  }

  bool Object(Json& out, int depth) {
    if (!Enter(depth)) return false;
    out = Json::object();
    auto& members = out.get_ref<Json::object_t&>();
    if (Empty('}')) return true;
    for (bool closed = false; !closed;) {
      if (p_ == end_ || *p_ != '"') return SyntaxError();
      std::string key;
      if (!String(key)) return false;
      SkipSpace();
      if (p_ == end_ || *p_ != ':') return SyntaxError();
      ++p_;
      SkipSpace();
      auto [it, inserted] = members.try_emplace(std::move(key));
      if (!inserted) {
        return Fail(
            InvalidArgument("invalid JSON: duplicate key '" + PrintableKey(it->first) + "'"));
      }
      if (!Value(it->second, depth + 1) || !CloseOrComma('}', &closed)) return false;
    }
    return true;
  }

  bool Array(Json& out, int depth) {
    if (!Enter(depth)) return false;
    out = Json::array();
    auto& elements = out.get_ref<Json::array_t&>();
    if (Empty(']')) return true;
    for (bool closed = false; !closed;) {
      if (!Value(elements.emplace_back(), depth + 1) || !CloseOrComma(']', &closed)) return false;
    }
    return true;
  }

  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  // RFC 8259 numbers; values as nlohmann makes them.
  bool Number(Json& out) {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_ || !IsDigit(*p_)) return SyntaxError();
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ == end_ || !IsDigit(*p_)) return SyntaxError();
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !IsDigit(*p_)) return SyntaxError();
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (integral) {
      if (*start == '-') {
        int64_t v = 0;
        if (std::from_chars(start, p_, v).ec == std::errc()) {
          out = v;
          return true;
        }
      } else {
        uint64_t v = 0;
        if (std::from_chars(start, p_, v).ec == std::errc()) {
          out = v;
          return true;
        }
      }
    }
    // A double, as strtod makes it (underflow gives zero or a subnormal, as in nlohmann).
    const std::string token(start, p_);
    const double v = std::strtod(token.c_str(), nullptr);
    if (!std::isfinite(v)) {
      p_ = start;
      return Fail(InvalidArgument("invalid JSON: number out of range at byte " +
                                  std::to_string(start - begin_)));
    }
    out = v;
    return true;
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Four hex digits after "\u"; -1 if they are not.
  int32_t Hex4() {
    if (end_ - p_ < 4) return -1;
    int32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = Hex(p_[i]);
      if (h < 0) return -1;
      v = (v << 4) | h;
    }
    p_ += 4;
    return v;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // A string at p_ (on its opening quote), unescaped into `out`.
  bool String(std::string& out) {
    ++p_;
    for (;;) {
      const char* run = p_;
      p_ = SkipPlainJson(p_, end_);
      out.append(run, p_);
      if (p_ == end_) return SyntaxError();
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c >= 0x80) {
        const size_t n = Utf8SequenceLength(std::string_view(p_, end_ - p_), 0);
        if (n == 0) return SyntaxError();
        out.append(p_, n);
        p_ += n;
        continue;
      }
      if (c != '\\') return SyntaxError();  // a control character
      ++p_;
      if (p_ == end_) return SyntaxError();
      const char e = *p_++;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          int32_t cp = Hex4();
          if (cp < 0) return SyntaxError();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return SyntaxError();
            p_ += 2;
            const int32_t low = Hex4();
            if (low < 0xDC00 || low > 0xDFFF) return SyntaxError();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return SyntaxError();
          }
          AppendUtf8(out, static_cast<uint32_t>(cp));
          break;
        }
        default:
          return SyntaxError();
      }
    }
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const int max_depth_;
  Status error_;
};

}  // namespace

StatusOr<Json> ParseStrictJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidArgument("invalid JSON: text is larger than " + std::to_string(limits.max_bytes) +
                           " bytes");
  }
  Json root;
  PORTICO_RETURN_IF_ERROR(StrictParser(text, std::min(limits.max_depth, kMaxDepth)).Parse(root));
  return root;
}

namespace {

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
    const size_t run =
        static_cast<size_t>(SkipPlainJson(s.data() + i, s.data() + s.size()) - s.data());
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

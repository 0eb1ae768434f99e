#include "core/json.h"

#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico {
namespace {

// The reference for ParseStrictJson: nlohmann's own strict parse, through a SAX handler that
// refuses duplicate keys and excessive depth (what ParseStrictJson used before it had its own
// parser). Values and acceptance must match it exactly.
class ReferenceBuilder {
 public:
  using Json = nlohmann::json;
  ReferenceBuilder(Json& root, int max_depth) : root_(root), max_depth_(max_depth) {}
  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(Json::number_integer_t v) { return Put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(v); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Put(v); }
  bool string(Json::string_t& v) { return Put(std::move(v)); }
  bool binary(Json::binary_t&) { return false; }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& key) {
    Json& object = *stack_.back();
    if (object.contains(key)) return false;
    pending_ = &object[key];
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const Json::exception&) { return false; }

 private:
  bool Put(Json value) {
    last_ = Place(std::move(value));
    return true;
  }
  Json* Place(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    *pending_ = std::move(value);
    return pending_;
  }
  bool Open(Json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) return false;
    stack_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }
  Json& root_;
  const int max_depth_;
  std::vector<Json*> stack_;
  Json* pending_ = nullptr;
  Json* last_ = nullptr;
};

std::optional<nlohmann::json> ReferenceParse(std::string_view text, int max_depth) {
  nlohmann::json root;
  ReferenceBuilder builder(root, max_depth);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                 nlohmann::json::input_format_t::json, true, false)) {
    return std::nullopt;
  }
  return root;
}

// Equal values of equal types all the way down (nlohmann's == calls 1 and 1u and 1.0 equal).
bool Same(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !Same(*ia, *ib)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!Same(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::memcmp(&x, &y, sizeof x) == 0;  // -0.0 and 0.0 differ
  }
  return a == b;
}

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

void ExpectSameAsReference(std::string_view text, int max_depth = 8) {
  auto ours = ParseStrictJson(text, {.max_bytes = 1 << 20, .max_depth = max_depth});
  auto ref = ReferenceParse(text, max_depth);
  ASSERT_EQ(ours.ok(), ref.has_value())
      << "hex " << Hex(text) << ": " << (ours.ok() ? "accepted" : ours.status().ToString());
  if (ours.ok()) {
    EXPECT_TRUE(Same(*ours, *ref))
        << "hex " << Hex(text) << ": " << ours->dump() << " vs " << ref->dump();
  } else {
    EXPECT_EQ(ours.status().code(), Code::kInvalidArgument);
  }
}

TEST(ParseStrictJsonTest, MatchesNlohmannOnEdgeCases) {
  for (const char* text : {"0",
                           "-0",
                           "1",
                           "-1",
                           "0.0",
                           "-0.0",
                           "1e5",
                           "1E+5",
                           "1e-5",
                           "1.5e300",
                           "1e400",
                           "-1e400",
                           "1e-400",
                           "01",
                           "-",
                           "1.",
                           ".5",
                           "+1",
                           "1e",
                           "1e+",
                           "--1",
                           "0x10",
                           "18446744073709551615",
                           "18446744073709551616",
                           "-9223372036854775808",
                           "-9223372036854775809",
                           "9223372036854775807",
                           "9223372036854775808",
                           "123456789012345678901234567890",
                           "\"\\u0000\"",
                           "\"\\ud83d\\ude00\"",
                           "\"\\ud83d\"",
                           "\"\\ude00\"",
                           "\"\\ud83d\\u0041\"",
                           "\"\\uD83D\\uDE00\"",
                           "\"\\u00e9\"",
                           "\"\\x41\"",
                           "\"\\u12\"",
                           "\"\\u12g4\"",
                           "\"\xc3\xa9\"",
                           "\"\xc0\xaf\"",
                           "\"\xe0\x80\xaf\"",
                           "\"\xed\xa0\x80\"",
                           "\"\xf4\x90\x80\x80\"",
                           "\"\xf0\x9f\x98\x80\"",
                           "\"\xf5\x80\x80\x80\"",
                           "\"\x80\"",
                           "\"\xc3\"",
                           "\"a\tb\"",
                           "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
                           "\xef\xbb\xbf{}",
                           "\xef\xbb{}",
                           " \r\n\t[ 1 , 2 ]\n",
                           "[1 2]",
                           "{\"a\" 1}",
                           "{\"a\":}",
                           "{,}",
                           "[,]",
                           "{\"a\":1,}",
                           "[1,]",
                           "true",
                           "truex",
                           "nul",
                           "null",
                           "false ",
                           "[true,false,null]",
                           "{\"\":0}",
                           "{\"a\":{\"a\":{\"a\":[]}}}",
                           "\"unterminated",
                           "[",
                           "]",
                           "{}",
                           "[]",
                           "[[[[[[[[[]]]]]]]]]",
                           "[[[[[[[[[[]]]]]]]]]]"}) {
    SCOPED_TRACE(text);
    ExpectSameAsReference(text);
  }
}

TEST(ParseStrictJsonTest, RefusesANulOutsideStringsWhereNlohmannStopsReading) {
  // nlohmann ends the text at a NUL outside a string and ignores the rest; that would let bytes
  // ride along unseen (after a JWS payload, say), so here it is a syntax error: the one intended
  // difference from the reference.
  for (std::string_view text : {std::string_view("{}\0x", 4), std::string_view("1 \0{}", 5),
                                std::string_view("[1]\0", 4)}) {
    EXPECT_TRUE(ReferenceParse(text, 8).has_value());
    auto parsed = ParseStrictJson(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  }
  // Inside a string a raw NUL is refused by both, and an escaped one is a character.
  EXPECT_FALSE(ParseStrictJson(std::string_view("\"a\0b\"", 5)).ok());
  auto escaped = ParseStrictJson(R"("a\u0000b")");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->get<std::string>(), std::string("a\0b", 3));
}

TEST(ParseStrictJsonTest, DepthIsCappedWhateverIsAsked) {
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  auto parsed = ParseStrictJson(deep, {.max_bytes = 1 << 20, .max_depth = 1'000'000});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("deeper than 256"), std::string::npos);
  const std::string ok = std::string(256, '[') + std::string(256, ']');
  EXPECT_TRUE(ParseStrictJson(ok, {.max_bytes = 1 << 20, .max_depth = 1'000'000}).ok());
}

TEST(ParseStrictJsonTest, MatchesNlohmannOnMutatedDocuments) {
  // Documents like the ones parsed on hot paths, mutated at random (fixed seed): every variant
  // must be accepted or refused exactly as the reference does, with the same value.
  const std::vector<std::string> seeds = {
      R"({"exp":1764000000,"iss":"5C1D59E69EA3DA2C45744A0C@PorticoOrg","sub":"61FCCE0A3EEAE6436A4F9B24@techacct.portico","aud":"http://127.0.0.1:39645/c/946ed097dece750d0d4430c3003b1ced","http://127.0.0.1:39645/s/ent_portal_sdk":true,"jti":"a1b2c3","iat":1763990000})",
      R"({"alg":"RS256","typ":"JWT","kid":"abc"})",
      R"([{"path":"/content/dam/a b/\u00e9t\u00e9.jpg","sha256":"00ff","size":204800,"ratio":-1.5e-3,"tags":["x","y"],"n":null,"ok":false}])",
      R"({"a":[1,-2,3.25,1e10,0,-0,18446744073709551615,-9223372036854775808],"s":"\ud83d\ude00 \" \\ \/ \b\f\n\r\t"})",
      "\"\xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9\""};
  const std::string alphabet =
      "{}[]:,\"\\ -+.eE0123456789abcdefnulltrue\x80\xbf\xc3\xed\xf0\xff\x01";
  std::mt19937 rng(20261125);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 2:
          text.erase(at, 1 + rng() % 3);
          break;
        default: {
          const size_t from = rng() % text.size();
          text.insert(at, text.substr(from, 1 + rng() % 8));
        }
      }
    }
    ExpectSameAsReference(text);
    if (HasFailure()) return;  // one input printed is enough
    accepted += ReferenceParse(text, 8).has_value();
  }
  EXPECT_GT(accepted, 1000);  // the mutations leave plenty of valid documents to compare
}

TEST(ParseStrictJsonTest, AcceptsOrdinaryJson) {
  auto parsed = ParseStrictJson(
      R"({"a": 1, "b": [true, null, 2.5, "x", {"c": -3}], "d": {"e": {}}, "u": "\u00e9"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["a"], 1);
  EXPECT_EQ((*parsed)["b"][4]["c"], -3);
  EXPECT_EQ((*parsed)["b"][2], 2.5);
  EXPECT_TRUE((*parsed)["d"]["e"].is_object());
  EXPECT_EQ((*parsed)["u"], "\xc3\xa9");
  EXPECT_EQ(*ParseStrictJson("[]"), nlohmann::json::array());
  EXPECT_EQ(*ParseStrictJson(" 42 "), 42);
  EXPECT_EQ(*ParseStrictJson("\"s\""), "s");
}

TEST(ParseStrictJsonTest, SameKeyInDifferentObjectsIsFine) {
  auto parsed = ParseStrictJson(R"({"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["b"][1]["a"], 2);
}

TEST(ParseStrictJsonTest, RefusesDuplicateKeysAtTopLevel) {
  auto parsed = ParseStrictJson(R"({"sub": "alice", "sub": "admin"})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("duplicate"), std::string::npos);
}

TEST(ParseStrictJsonTest, RefusesDuplicateKeysNested) {
  EXPECT_FALSE(ParseStrictJson(R"({"a": {"x": 1, "y": 2, "x": 3}})").ok());
  EXPECT_FALSE(ParseStrictJson(R"([1, {"x": 1, "x": 1}])").ok());
  EXPECT_FALSE(ParseStrictJson(R"({"a": [{"b": {"c": 1, "c": 2}}]})").ok());
  // Escapes that decode to the same key are the same key.
  EXPECT_FALSE(ParseStrictJson(R"({"ab": 1, "a\u0062": 2})").ok());
}

TEST(ParseStrictJsonTest, RefusesExcessiveDepth) {
  JsonLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseStrictJson("[[[1]]]", limits).ok());
  EXPECT_FALSE(ParseStrictJson("[[[[1]]]]", limits).ok());
  EXPECT_FALSE(ParseStrictJson(R"({"a":{"b":{"c":{}}}})", limits).ok());

  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto parsed = ParseStrictJson(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("deeper"), std::string::npos);
  const std::string ok_depth = std::string(32, '[') + std::string(32, ']');
  EXPECT_TRUE(ParseStrictJson(ok_depth).ok());
  const std::string too_deep = std::string(33, '[') + std::string(33, ']');
  EXPECT_FALSE(ParseStrictJson(too_deep).ok());
}

TEST(ParseStrictJsonTest, RefusesOversizedText) {
  JsonLimits limits;
  limits.max_bytes = 10;
  EXPECT_TRUE(ParseStrictJson(R"({"a":1234})", limits).ok());    // 10 bytes
  EXPECT_FALSE(ParseStrictJson(R"({"a":12345})", limits).ok());  // 11 bytes
  const std::string big = "\"" + std::string((1 << 20), 'x') + "\"";
  EXPECT_FALSE(ParseStrictJson(big).ok());
}

TEST(ParseStrictJsonTest, RefusesInvalidJsonWithoutEchoingIt) {
  for (const char* text : {"", "{", "{\"a\":1,}", "[1,]", "{'a':1}", "{\"a\":1} x", "tru",
                           "{\"a\":1}{}", "/* c */ 1", "NaN", "1e999", "\"\xff\""}) {
    auto parsed = ParseStrictJson(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().rfind("invalid JSON", 0), 0u);
  }
  auto parsed = ParseStrictJson(R"({"password": "hunter2", oops})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(parsed.status().message().find("oops"), std::string::npos);
  EXPECT_NE(parsed.status().message().find("byte"), std::string::npos);
}

TEST(JsonDumpTest, IsCompactAndSurvivesInvalidUtf8) {
  nlohmann::json value = {{"b", 1}, {"a", "x"}};
  EXPECT_EQ(JsonDump(value), R"({"a":"x","b":1})");
  nlohmann::json bad = std::string("ok\xff");
  EXPECT_EQ(JsonDump(bad), "\"ok\xef\xbf\xbd\"");
}

// JsonDump must write exactly what nlohmann's dump(replace) writes, for every kind of value and
// every string: escapes, multi-byte UTF-8, and each form of invalid UTF-8.
TEST(JsonDumpTest, MatchesNlohmannByteForByte) {
  auto reference = [](const nlohmann::json& v) {
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const std::vector<std::string> strings = {
      "",
      "plain ascii",
      "quote \" backslash \\ slash /",
      "controls \x01\x08\x09\x0a\x0c\x0d\x1f\x7f end",
      std::string("nul\0inside", 10),
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "\xc0\xaf overlong",
      "\xe0\x80\xaf overlong3",
      "\xed\xa0\x80 surrogate",
      "\xf4\x90\x80\x80 too big",
      "\xf5\x80\x80\x80 bad lead",
      "cut \xe2\x82",
      "cut at end \xf0\x9f\x98",
      "\x80 lone continuation",
      "\xc3 missing continuation \xc3",
      "mixed \xff\xfe \"q\" \xc3\xa9\n",
  };
  for (const auto& s : strings) {
    nlohmann::json v = s;
    EXPECT_EQ(JsonDump(v), reference(v)) << s;
    nlohmann::json o = {{s, s}, {"k", {s, 1}}};
    EXPECT_EQ(JsonDump(o), reference(o)) << s;
  }
  // Every pair of bytes, surrounded by plain text: covers every lead byte and its neighbours.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 17) {
      std::string s = "x";
      s += static_cast<char>(a);
      s += static_cast<char>(b);
      s += "\xa9y";
      nlohmann::json v = s;
      ASSERT_EQ(JsonDump(v), reference(v)) << a << " " << b;
    }
  }
  const nlohmann::json scalars = {nullptr,
                                  true,
                                  false,
                                  0,
                                  -1,
                                  42,
                                  std::numeric_limits<int64_t>::min(),
                                  std::numeric_limits<uint64_t>::max(),
                                  1.5,
                                  5.0,
                                  1e20,
                                  -0.0,
                                  3.14159,
                                  1e-7,
                                  nlohmann::json::array(),
                                  nlohmann::json::object()};
  EXPECT_EQ(JsonDump(scalars), reference(scalars));
  nlohmann::json nested = {{"a", {{"b", {1, 2, {{"c", nullptr}}}}}}, {"z", "last"}};
  EXPECT_EQ(JsonDump(nested), reference(nested));
}

TEST(JsonObjectWriterTest, WritesMembersInOrderEscaped) {
  JsonObjectWriter w;
  w.Add("s", "a\"b\n").Add("n", int64_t{-7}).Add("t", true).AddRaw("r", "[1,2]");
  EXPECT_EQ(w.Finish(), R"({"s":"a\"b\n","n":-7,"t":true,"r":[1,2]})");
  EXPECT_EQ(JsonObjectWriter().Finish(), "{}");
  auto parsed = ParseStrictJson(JsonObjectWriter().Add("bad", "\xff").Finish());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["bad"], "\xef\xbf\xbd");
}

}  // namespace
}  // namespace portico

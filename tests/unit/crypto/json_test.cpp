#include "core/json.h"

#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico {
namespace {

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

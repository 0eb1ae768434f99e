#include "core/json.h"

#include <string>

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

}  // namespace
}  // namespace portico

#include "protocol/dam_path.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::protocol {
namespace {

TEST(DamPath, AcceptsAndCanonicalizes) {
  EXPECT_EQ(*NormalizeDamPath("/content/dam"), "/content/dam");
  EXPECT_EQ(*NormalizeDamPath("/content/dam/"), "/content/dam");
  EXPECT_EQ(*NormalizeDamPath("/content/dam/brand/logo.png"), "/content/dam/brand/logo.png");
  EXPECT_EQ(*NormalizeDamPath("/content/dam/brand/"), "/content/dam/brand");
  EXPECT_EQ(*NormalizeDamPath("/content/dam/Café Ünïcode/日本.jpg"),
            "/content/dam/Café Ünïcode/日本.jpg");
  EXPECT_EQ(*NormalizeDamPath("/content/dam/.hidden"), "/content/dam/.hidden");
}

TEST(DamPath, RefusesHostilePaths) {
  const std::string nul("/content/dam/a\0b", 16);
  for (std::string p : {std::string(""),
                        std::string("content/dam/a"),
                        std::string("/content/damx"),
                        std::string("/content/other/a"),
                        std::string("/etc/passwd"),
                        std::string("/content/dam/../x"),
                        std::string("/content/dam/a/./b"),
                        std::string("/content/dam/a/.."),
                        std::string("/content/dam//a"),
                        std::string("/content/dam/a\\b"),
                        std::string("/content/dam/..\\..\\x"),
                        nul,
                        std::string("/content/dam/a\nb"),
                        std::string("/content/dam/\x7f"),
                        std::string("/content/dam/ lead"),
                        std::string("/content/dam/trail "),
                        std::string("/content/dam/\xff\xfe"),
                        std::string("/content/dam/\xc0\xaf"),      // overlong '/'
                        std::string("/content/dam/\xed\xa0\x80"),  // surrogate
                        std::string("/content/dam/\xe2\x82"),      // truncated
                        std::string("/content/dam/") + std::string(256, 'a')}) {
    auto r = NormalizeDamPath(p);
    EXPECT_FALSE(r.ok()) << "accepted: " << p;
    if (!r.ok()) {
      EXPECT_EQ(r.status().error(), "invalid_path");
    }
  }
}

TEST(DamPath, LimitsLengthAndDepth) {
  std::string deep = "/content/dam";
  for (int i = 0; i < 62; ++i) deep += "/d";
  EXPECT_TRUE(NormalizeDamPath(deep).ok());  // 64 segments
  EXPECT_FALSE(NormalizeDamPath(deep + "/d").ok());
  std::string longest = "/content/dam";
  while (longest.size() + 256 <= kMaxPathBytes) longest += "/" + std::string(255, 'x');
  EXPECT_TRUE(NormalizeDamPath(longest).ok());
  EXPECT_FALSE(NormalizeDamPath(longest + "/" + std::string(255, 'y')).ok());
  EXPECT_EQ(std::string(255, 'a').size(), 255u);
  EXPECT_TRUE(ValidateDamName(std::string(255, 'a')).ok());
  EXPECT_FALSE(ValidateDamName(std::string(256, 'a')).ok());
}

TEST(DamPath, ParentAndName) {
  EXPECT_EQ(DamParent("/content/dam"), "");
  EXPECT_EQ(DamParent("/content/dam/a"), "/content/dam");
  EXPECT_EQ(DamParent("/content/dam/a/b.png"), "/content/dam/a");
  EXPECT_EQ(DamName("/content/dam/a/b.png"), "b.png");
  EXPECT_EQ(DamName("/content/dam"), "dam");
}

}  // namespace
}  // namespace portico::protocol

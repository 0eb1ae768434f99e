#include "core/crypto/random.h"

#include <set>

#include <gtest/gtest.h>

#include "core/crypto/encoding.h"

namespace portico::crypto {
namespace {

TEST(RandomTest, BytesHaveTheRequestedSize) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(1).size(), 1u);
  EXPECT_EQ(RandomBytes(1000).size(), 1000u);
}

TEST(RandomTest, TokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string token = RandomToken();
    EXPECT_EQ(token.size(), 43u);
    auto decoded = Base64UrlDecode(token);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->size(), 32u);
    EXPECT_TRUE(seen.insert(token).second);
  }
  EXPECT_EQ(RandomToken(16).size(), 22u);
}

TEST(RandomTest, HexIsLowercaseOfTwiceTheLength) {
  const std::string hex = RandomHex(16);
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(RandomHex(16), hex);
}

TEST(RandomTest, BytesAreNotObviouslyBiased) {
  // 64 KiB of output: every byte value should appear (expected count 256 each).
  const std::string bytes = RandomBytes(65536);
  std::set<unsigned char> values(bytes.begin(), bytes.end());
  EXPECT_EQ(values.size(), 256u);
}

}  // namespace
}  // namespace portico::crypto

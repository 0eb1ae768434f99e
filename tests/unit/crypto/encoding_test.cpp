#include "core/crypto/encoding.h"

#include <string>

#include <gtest/gtest.h>

#include "core/crypto/random.h"

namespace portico::crypto {
namespace {

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 1) {
    const std::string bytes = all.substr(0, n);
    auto decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    ASSERT_TRUE(decoded.ok()) << n;
    EXPECT_EQ(*decoded, bytes);
  }
  for (int i = 0; i < 50; ++i) {
    const std::string bytes = RandomBytes(static_cast<size_t>(i));
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
  }
}

TEST(Base64UrlTest, DecodesUrlAlphabet) {
  auto decoded = Base64UrlDecode("-_-_");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "\xfb\xff\xbf");
}

TEST(Base64UrlTest, RefusesPadding) {
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm8=").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").ok());
}

TEST(Base64UrlTest, RefusesCharactersOutsideTheAlphabet) {
  EXPECT_FALSE(Base64UrlDecode("Zm9v+A").ok());  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9v/A").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v YmFy").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\nYmFy").ok());
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm9v\0YmFy", 9)).ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v.mFy").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v\xc3\xa9").ok());
}

TEST(Base64UrlTest, RefusesImpossibleLength) {
  EXPECT_FALSE(Base64UrlDecode("Z").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").ok());
}

TEST(Base64UrlTest, RefusesNonCanonicalTrailingBits) {
  // "Zg" is the only encoding of "f"; "Zh" differs only in the unused low bits.
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());
  EXPECT_FALSE(Base64UrlDecode("Zv").ok());
  // "Zm8" is the only encoding of "fo"; "Zm9" sets an unused bit.
  EXPECT_TRUE(Base64UrlDecode("Zm8").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm_").ok());
}

TEST(Base64UrlTest, EveryAcceptedStringIsTheCanonicalEncoding) {
  // Exhaustive over all 2- and 3-character strings: decode-then-encode must give back the input.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int accepted = 0;
  for (char a : alphabet) {
    for (char b : alphabet) {
      const std::string two{a, b};
      if (auto d = Base64UrlDecode(two); d.ok()) {
        ++accepted;
        EXPECT_EQ(Base64UrlEncode(*d), two);
      }
      for (char c : alphabet) {
        const std::string three{a, b, c};
        if (auto d = Base64UrlDecode(three); d.ok()) {
          ++accepted;
          EXPECT_EQ(Base64UrlEncode(*d), three);
        }
      }
    }
  }
  EXPECT_EQ(accepted, 256 + 65536);  // exactly one string per 1- and 2-byte value
}

TEST(Base64Test, EncodesWithPaddingAndRoundTrips) {
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("\xfb\xff\xbf"), "+/+/");
  for (int i = 0; i < 40; ++i) {
    const std::string bytes = RandomBytes(static_cast<size_t>(i));
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64Test, IsStrict) {
  EXPECT_TRUE(Base64Decode("").ok());
  EXPECT_FALSE(Base64Decode("Zg").ok());        // padding missing
  EXPECT_FALSE(Base64Decode("Zg=").ok());       // padding short
  EXPECT_FALSE(Base64Decode("Z===").ok());      // too much padding
  EXPECT_FALSE(Base64Decode("Zg==Zg==").ok());  // padding in the middle
  EXPECT_FALSE(Base64Decode("=Zm9").ok());
  EXPECT_FALSE(Base64Decode("Zh==").ok());  // non-canonical bits
  EXPECT_FALSE(Base64Decode("Zm9=").ok());
  EXPECT_FALSE(Base64Decode("-_-_").ok());  // url alphabet
  EXPECT_FALSE(Base64Decode("Zm9v\n").ok());
}

TEST(HexTest, EncodesLowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

}  // namespace
}  // namespace portico::crypto

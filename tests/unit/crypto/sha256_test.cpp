#include "core/crypto/sha256.h"

#include <gtest/gtest.h>

#include "core/crypto/encoding.h"

namespace portico::crypto {
namespace {

constexpr char kEmptyHex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kTwoBlockHex[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kTwoBlockInput[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), kEmptyHex);
  EXPECT_EQ(Sha256Hex("abc"), kAbcHex);
  EXPECT_EQ(Sha256Hex(kTwoBlockInput), kTwoBlockHex);
  EXPECT_EQ(Sha256Raw("abc").size(), 32u);
  EXPECT_EQ(HexEncode(Sha256Raw("abc")), kAbcHex);
}

TEST(Sha256Test, StreamingMatchesOneShotAndResetsAfterFinal) {
  Sha256 hasher;
  hasher.Update("ab");
  hasher.Update("");
  hasher.Update("c");
  EXPECT_EQ(hasher.FinalHex(), kAbcHex);
  EXPECT_EQ(hasher.FinalHex(), kEmptyHex);  // reset: nothing hashed since
  const std::string input = kTwoBlockInput;
  for (char c : input) hasher.Update(std::string_view(&c, 1));
  EXPECT_EQ(HexEncode(hasher.Final()), kTwoBlockHex);
}

TEST(Sha256Test, MovedHasherKeepsItsState) {
  Sha256 first;
  first.Update("a");
  Sha256 second = std::move(first);
  second.Update("bc");
  EXPECT_EQ(second.FinalHex(), kAbcHex);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndSize) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("Secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace portico::crypto

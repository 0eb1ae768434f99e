#include "core/crypto/password.h"

#include <gtest/gtest.h>

namespace portico::crypto {
namespace {

TEST(PasswordTest, HashVerifiesOnlyTheRightPassword) {
  auto hash = HashPassword("correct horse battery staple");
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword(*hash, "Correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordTest, SaltMakesEveryHashDifferent) {
  auto first = HashPassword("pw");
  auto second = HashPassword("pw");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(VerifyPassword(*second, "pw"));
}

TEST(PasswordTest, PasswordsWithNulBytesAreHashedWhole) {
  const std::string with_nul("ab\0cd", 5);
  auto hash = HashPassword(with_nul);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword(*hash, with_nul));
  EXPECT_FALSE(VerifyPassword(*hash, "ab"));
}

TEST(PasswordTest, GarbageHashNeverVerifies) {
  EXPECT_FALSE(VerifyPassword("", ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "not a hash"));
  auto hash = HashPassword("pw");
  ASSERT_TRUE(hash.ok());
  std::string truncated = hash->substr(0, hash->size() - 5);
  EXPECT_FALSE(VerifyPassword(truncated, "pw"));
  std::string with_nul = *hash;
  with_nul.insert(with_nul.size(), 1, '\0');
  EXPECT_FALSE(VerifyPassword(with_nul, "pw"));
}

}  // namespace
}  // namespace portico::crypto

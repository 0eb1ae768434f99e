#include "core/crypto/random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

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

TEST(RandomTest, SmallValuesNeverRepeatAcrossThreadsOrBlocks) {
  // Small values are cut from a per-thread block: 2,000 values of 16 bytes span many blocks on
  // each of four threads, and none may repeat.
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&out] {
      for (int i = 0; i < 2000; ++i) out.push_back(RandomBytes(i % 7 == 0 ? 64 : 16));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  for (const auto& out : per_thread) {
    for (const auto& v : out) EXPECT_TRUE(seen.insert(v).second);
  }
  EXPECT_EQ(seen.size(), 8000u);
}

TEST(RandomTest, AForkedChildDoesNotRepeatItsParentsValues) {
  (void)RandomBytes(16);  // the parent's block is filled: the rest of it is what a child inherits
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string value = RandomBytes(16);
    const bool written = write(pipe_fds[1], value.data(), value.size()) == 16;
    _exit(written ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string from_child(16, '\0');
  ASSERT_EQ(read(pipe_fds[0], from_child.data(), 16), 16);
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(RandomBytes(16), from_child) << "the child handed out its parent's next value";
}

}  // namespace
}  // namespace portico::crypto

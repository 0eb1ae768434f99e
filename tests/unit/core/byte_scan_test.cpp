#include "core/byte_scan.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::bytescan {
namespace {

// Every byte value at every position of a 20-byte run (so in the first word, the second, and the
// tail) must stop the scan exactly where the byte test says, for the word tests in use.
template <typename WordTest, typename ByteTest>
void ExpectExact(WordTest word, ByteTest byte) {
  for (int value = 0; value < 256; ++value) {
    for (size_t at = 0; at < 20; ++at) {
      std::string text(20, 'a');
      text[at] = static_cast<char>(value);
      const char* stop = SkipPlain(text.data(), text.data() + text.size(), word, byte);
      const size_t want = byte(static_cast<unsigned char>(value)) ? at : text.size();
      ASSERT_EQ(static_cast<size_t>(stop - text.data()), want) << "byte " << value << " at " << at;
    }
  }
}

TEST(ByteScanTest, StopsAtExactlyTheSpecialBytesOfJsonStrings) {
  ExpectExact(
      [](uint64_t w) {
        return AnyHigh(w) | AnyBelow(w, 0x20) | AnyEqual(w, '"') | AnyEqual(w, '\\');
      },
      [](unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80; });
}

TEST(ByteScanTest, StopsAtExactlyTheSpecialBytesOfFormFields) {
  ExpectExact(
      [](uint64_t w) { return AnyHigh(w) | AnyBelow(w, 1) | AnyEqual(w, '%') | AnyEqual(w, '+'); },
      [](unsigned char c) { return c == '%' || c == '+' || c == 0 || c >= 0x80; });
}

TEST(ByteScanTest, TwoSpecialBytesInOneWordStopAtTheFirst) {
  const std::string text = "abcdefghij\"kl\\mnop";
  auto word = [](uint64_t w) { return AnyEqual(w, '"') | AnyEqual(w, '\\'); };
  auto byte = [](unsigned char c) { return c == '"' || c == '\\'; };
  EXPECT_EQ(SkipPlain(text.data(), text.data() + text.size(), word, byte) - text.data(), 10);
  EXPECT_EQ(SkipPlain(text.data(), text.data(), word, byte), text.data());  // empty
}

}  // namespace
}  // namespace portico::bytescan

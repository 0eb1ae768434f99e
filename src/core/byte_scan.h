// Finding the next byte that needs attention in a run of plain text, eight bytes at a time
// (SWAR: word arithmetic, no intrinsics). Used where untrusted text is copied byte by byte on hot
// paths: JSON strings (core/json.cpp) and form fields (core/http/form.cpp).
#pragma once

#include <cstdint>
#include <cstring>

namespace portico::bytescan {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

constexpr uint64_t Broadcast(uint8_t b) { return kOnes * b; }
// Nonzero iff some byte of `w` is below `n` (n <= 128).
constexpr uint64_t AnyBelow(uint64_t w, uint8_t n) { return (w - Broadcast(n)) & ~w & kHighs; }
// Nonzero iff some byte of `w` equals `b`.
constexpr uint64_t AnyEqual(uint64_t w, uint8_t b) { return AnyBelow(w ^ Broadcast(b), 1); }
// Nonzero iff some byte of `w` is 0x80 or above.
constexpr uint64_t AnyHigh(uint64_t w) { return w & kHighs; }

// The first position in [p, end) whose byte `special` accepts. `word_special(w)` must be nonzero
// iff one of the eight bytes of `w` is special; whole words are skipped while it is zero.
template <typename WordTest, typename ByteTest>
const char* SkipPlain(const char* p, const char* end, WordTest word_special, ByteTest special) {
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    if (word_special(w)) break;
    p += 8;
  }
  while (p != end && !special(static_cast<unsigned char>(*p))) ++p;
  return p;
}

}  // namespace portico::bytescan

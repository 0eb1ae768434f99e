// Assertions on Status for the store's tests: a failure prints the status.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace portico::store::testing {

inline ::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

// Deterministic bytes that differ from piece to piece, so a misplaced piece changes the digest.
inline std::string Pattern(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

}  // namespace portico::store::testing

#define ASSERT_OK(expr) ASSERT_TRUE(::portico::store::testing::IsOk((expr)))
#define EXPECT_OK(expr) EXPECT_TRUE(::portico::store::testing::IsOk((expr)))

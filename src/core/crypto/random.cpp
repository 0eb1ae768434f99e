#include "core/crypto/random.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/crypto/encoding.h"

namespace portico::crypto {
namespace {

void Fill(unsigned char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const size_t chunk = std::min(n - done, static_cast<size_t>(INT_MAX));
    if (RAND_bytes(out + done, static_cast<int>(chunk)) != 1) {
      std::abort();  // no secure randomness: continuing would hand out guessable secrets
    }
    done += chunk;
  }
}

// Small requests (ids, tokens, nonces: most calls, several per request on a busy server) are cut
// from a per-thread block drawn from the DRBG 512 bytes at a time, which saves a DRBG call (its
// lock and fork check) per request. Bytes handed out are wiped from the block. A fork makes every
// block stale: the child must not hand out the bytes its parent will hand out.
constexpr size_t kBlockBytes = 512;
constexpr size_t kMaxCut = 64;

std::atomic<uint64_t> g_fork_generation{1};

struct Block {
  unsigned char bytes[kBlockBytes];
  size_t used = kBlockBytes;
  uint64_t generation = 0;
  ~Block() {
    OPENSSL_cleanse(bytes, sizeof bytes);
    used = kBlockBytes;  // a (mistaken) use after this thread's exit draws afresh, never zeros
    generation = 0;
  }
};

void CutFromBlock(unsigned char* out, size_t n) {
  [[maybe_unused]] static const int registered = pthread_atfork(
      nullptr, nullptr, [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); });
  thread_local Block block;
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (block.generation != generation || kBlockBytes - block.used < n) {
    Fill(block.bytes, kBlockBytes);
    block.used = 0;
    block.generation = generation;
  }
  std::memcpy(out, block.bytes + block.used, n);
  OPENSSL_cleanse(block.bytes + block.used, n);
  block.used += n;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (n <= kMaxCut) {
    CutFromBlock(p, n);
  } else {
    Fill(p, n);
  }
  return out;
}

std::string RandomToken(size_t bytes) { return Base64UrlEncode(RandomBytes(bytes)); }

std::string RandomHex(size_t bytes) { return HexEncode(RandomBytes(bytes)); }

}  // namespace portico::crypto

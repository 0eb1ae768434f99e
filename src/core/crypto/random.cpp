#include "core/crypto/random.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <openssl/rand.h>

#include "core/crypto/encoding.h"

namespace portico::crypto {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    const size_t chunk = std::min(n - done, static_cast<size_t>(INT_MAX));
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), static_cast<int>(chunk)) !=
        1) {
      std::abort();  // no secure randomness: continuing would hand out guessable secrets
    }
    done += chunk;
  }
  return out;
}

std::string RandomToken(size_t bytes) { return Base64UrlEncode(RandomBytes(bytes)); }

std::string RandomHex(size_t bytes) { return HexEncode(RandomBytes(bytes)); }

}  // namespace portico::crypto

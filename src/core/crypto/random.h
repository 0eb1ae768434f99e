// Cryptographically secure random bytes and tokens, from OpenSSL's DRBG. Thread-safe.
//
// These functions cannot fail: if the system cannot produce secure randomness the process aborts,
// because no caller has a safe way to continue without it.
#pragma once

#include <cstddef>
#include <string>

namespace portico::crypto {

// `n` random bytes.
std::string RandomBytes(size_t n);

// `bytes` random bytes, base64url-encoded without padding (43 characters for the default 32).
// Suitable for authorization codes, refresh tokens, client secrets and CSRF values.
std::string RandomToken(size_t bytes = 32);

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string RandomHex(size_t bytes);

}  // namespace portico::crypto

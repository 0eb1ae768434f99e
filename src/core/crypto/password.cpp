#include "core/crypto/password.h"

#include <cstdlib>

#include <sodium.h>

namespace portico::crypto {
namespace {

void InitSodiumOnce() {
  // A function-local static is initialised exactly once, even with concurrent first calls.
  static const bool kInitialised = [] {
    if (sodium_init() < 0) std::abort();  // libsodium cannot work here at all
    return true;
  }();
  (void)kInitialised;
}

}  // namespace

StatusOr<std::string> HashPassword(std::string_view password) {
  InitSodiumOnce();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("password hashing failed (out of memory)");
  }
  return std::string(hash);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  InitSodiumOnce();
  // libsodium wants a NUL-terminated string; an embedded NUL would silently truncate it.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES ||
      hash.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

}  // namespace portico::crypto

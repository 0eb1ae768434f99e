// Password hashing with Argon2id (libsodium) at the INTERACTIVE cost: about 64 MiB of memory and
// tens of milliseconds per call, so never call these on an I/O thread. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace portico::crypto {

// A self-describing "$argon2id$v=19$m=...,t=...,p=...$salt$hash" string with a random salt.
// Fails with Internal if the memory for hashing cannot be allocated.
StatusOr<std::string> HashPassword(std::string_view password);

// True if `password` matches `hash` (a string from HashPassword). False for a wrong password and
// for anything that is not a valid hash string.
bool VerifyPassword(std::string_view hash, std::string_view password);

}  // namespace portico::crypto

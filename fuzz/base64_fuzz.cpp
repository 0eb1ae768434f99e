// Base64url and base64 decoding of any bytes: what is accepted is the canonical encoding of what
// it decodes to, and every encoding decodes back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/crypto/encoding.h"
#include "fuzz_check.h"

using namespace portico::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto url = Base64UrlDecode(text); url.ok()) {
    PORTICO_FUZZ_CHECK(Base64UrlEncode(*url) == text);
  }
  if (auto std = Base64Decode(text); std.ok()) {
    PORTICO_FUZZ_CHECK(Base64Encode(*std) == text);
  }
  // The other way: the input as bytes.
  auto round = Base64UrlDecode(Base64UrlEncode(text));
  PORTICO_FUZZ_CHECK(round.ok() && *round == text);
  auto round_std = Base64Decode(Base64Encode(text));
  PORTICO_FUZZ_CHECK(round_std.ok() && *round_std == text);
  return 0;
}

// ParseJws on any bytes: it never crashes, what it accepts has an allowed algorithm, a non-empty
// signature and object header and payload, and no signature made up by the input verifies
// against a key of ours.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/crypto/jws.h"
#include "fuzz_check.h"

using namespace portico::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const PrivateKey kEc = PrivateKey::GenerateEcP256().value();
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseJws(token, {.max_token_bytes = 16 * 1024});
  if (!parsed.ok()) {
    PORTICO_FUZZ_CHECK(parsed.status().code() == portico::Code::kInvalidArgument);
    return 0;
  }
  PORTICO_FUZZ_CHECK(parsed->alg.has_value());
  PORTICO_FUZZ_CHECK(parsed->header.is_object() && parsed->payload.is_object());
  PORTICO_FUZZ_CHECK(!parsed->signature.empty());
  PORTICO_FUZZ_CHECK(token.substr(0, parsed->signing_input.size()) == parsed->signing_input);
  PORTICO_FUZZ_CHECK(!VerifyJws(*parsed, kEc.public_key()).ok());
  return 0;
}

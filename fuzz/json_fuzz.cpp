// ParseStrictJson on any bytes; what it accepts, JsonDump writes back byte for byte as nlohmann
// does, and the text written parses again to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = portico::ParseStrictJson(text, {.max_bytes = 64 * 1024, .max_depth = 16});
  if (!parsed.ok()) {
    PORTICO_FUZZ_CHECK(parsed.status().code() == portico::Code::kInvalidArgument);
    return 0;
  }
  const std::string dumped = portico::JsonDump(*parsed);
  PORTICO_FUZZ_CHECK(dumped ==
                     parsed->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  auto again = portico::ParseStrictJson(dumped, {.max_bytes = 1 << 20, .max_depth = 16});
  PORTICO_FUZZ_CHECK(again.ok());
  PORTICO_FUZZ_CHECK(*again == *parsed);  // numbers are written in round-trip form
  return 0;
}

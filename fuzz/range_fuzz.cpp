// The Range header of a download against representations of several sizes: a range served is
// always inside the representation; anything refused is a 416.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "portal/service/byte_range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  for (int64_t representation : {int64_t{0}, int64_t{1}, int64_t{100}, int64_t{1} << 40}) {
    auto range = portico::portal::ParseRange(header, representation);
    if (!range.ok()) {
      PORTICO_FUZZ_CHECK(range.status().http_status() == 416);
      continue;
    }
    if (!range->has_value()) continue;
    const auto& r = **range;
    PORTICO_FUZZ_CHECK(r.first >= 0 && r.first <= r.last && r.last < representation);
  }
  return 0;
}

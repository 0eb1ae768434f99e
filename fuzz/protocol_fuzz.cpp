// The publish protocol's messages and DAM paths from any bytes: every parser refuses or accepts
// without crashing, and what it accepts survives being written and parsed again unchanged; a path
// that normalizes is canonical (normalizing it again changes nothing).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"
#include "fuzz_check.h"
#include "protocol/dam_path.h"
#include "protocol/publish.h"

using namespace portico::protocol;

namespace {
// What a parser accepts, written back and parsed again, is the same message.
template <typename Parse>
void RoundTrips(const nlohmann::json& json, Parse parse) {
  auto first = parse(json);
  if (!first.ok()) return;
  const nlohmann::json written = ToJson(*first);
  auto second = parse(written);
  PORTICO_FUZZ_CHECK(second.ok());
  PORTICO_FUZZ_CHECK(portico::JsonDump(ToJson(*second)) == portico::JsonDump(written));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto path = NormalizeDamPath(text); path.ok()) {
    auto again = NormalizeDamPath(*path);
    PORTICO_FUZZ_CHECK(again.ok() && *again == *path);
  }
  auto json = portico::ParseStrictJson(text, {.max_bytes = 64 * 1024, .max_depth = 16});
  if (!json.ok()) return 0;
  RoundTrips(*json, ParseHandshakeRequest);
  RoundTrips(*json, ParseHandshakeResponse);
  RoundTrips(*json, ParseCheckRequest);
  RoundTrips(*json, ParseCheckResponse);
  RoundTrips(*json, ParseBlobReceipt);
  RoundTrips(*json, ParseCommitRequest);
  RoundTrips(*json, ParseCommitResponse);
  return 0;
}

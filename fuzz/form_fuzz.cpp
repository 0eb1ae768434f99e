// Form bodies of any bytes, url-encoded and multipart: never a crash; every decoded name and
// value is valid UTF-8 without NUL (url-encoded); multipart parts stay within the part limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/http/form.h"
#include "fuzz_check.h"

using namespace portico::http;

namespace {
bool CleanUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto form = ParseUrlEncodedForm(body); form.ok()) {
    for (const auto& [name, value] : form->fields) {
      PORTICO_FUZZ_CHECK(CleanUtf8(name) && CleanUtf8(value));
    }
  }
  StringBodyReader reader{std::string(body)};
  MultipartReader multipart(reader, "XyZzy", {.max_parts = 8, .max_part_header_bytes = 1024});
  size_t parts = 0;
  char buf[97];
  while (true) {
    auto part = multipart.NextPart();
    if (!part.ok() || !part->has_value()) break;
    ++parts;
    PORTICO_FUZZ_CHECK(parts <= 8);
    while (true) {
      auto n = multipart.Read(buf);
      if (!n.ok() || *n == 0) break;
      PORTICO_FUZZ_CHECK(*n <= sizeof buf);
    }
  }
  return 0;
}

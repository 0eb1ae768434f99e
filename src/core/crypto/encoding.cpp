#include "core/crypto/encoding.h"

#include <array>
#include <cstdint>

namespace portico::crypto {
namespace {

constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int8_t kInvalid = -1;
using DecodeTable = std::array<int8_t, 256>;

constexpr DecodeTable MakeDecodeTable(std::string_view alphabet) {
  DecodeTable table{};
  for (auto& entry : table) entry = kInvalid;
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr DecodeTable kUrlTable = MakeDecodeTable(kUrlAlphabet);
constexpr DecodeTable kStandardTable = MakeDecodeTable(kStandardAlphabet);

// Both work on a buffer sized once and filled through a pointer: appending a character at a time
// (a capacity check per byte) made base64 a visible share of issuing a token.
std::string Encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  const size_t full = bytes.size() / 3;
  const size_t rest = bytes.size() - full * 3;
  const size_t out_size = full * 4 + (rest == 0 ? 0 : pad ? 4 : rest + 1);
  std::string out(out_size, '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  char* o = out.data();
  for (size_t g = 0; g < full; ++g, in += 3, o += 4) {
    const uint32_t v = uint32_t{in[0]} << 16 | uint32_t{in[1]} << 8 | in[2];
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = alphabet[(v >> 6) & 63];
    o[3] = alphabet[v & 63];
  }
  if (rest != 0) {
    const uint32_t v = uint32_t{in[0]} << 16 | (rest == 2 ? uint32_t{in[1]} << 8 : 0);
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    if (rest == 2) o[2] = alphabet[(v >> 6) & 63];
    if (pad) {
      if (rest == 1) o[2] = '=';
      o[3] = '=';
    }
  }
  return out;
}

// Decodes unpadded text whose length has already been checked not to be 1 mod 4.
StatusOr<std::string> DecodeUnpadded(std::string_view text, const DecodeTable& table,
                                     std::string_view name) {
  const size_t full = text.size() / 4;
  const size_t rest = text.size() - full * 4;  // 0, 2 or 3
  std::string out(full * 3 + (rest == 0 ? 0 : rest - 1), '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  const auto invalid = [&] {
    return InvalidArgument("invalid " + std::string(name) + ": unexpected character");
  };
  for (size_t g = 0; g < full; ++g, in += 4, o += 3) {
    const int32_t a = table[in[0]], b = table[in[1]], c = table[in[2]], d = table[in[3]];
    if ((a | b | c | d) < 0) return invalid();
    const uint32_t v = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6 | uint32_t(d);
    o[0] = static_cast<uint8_t>(v >> 16);
    o[1] = static_cast<uint8_t>(v >> 8);
    o[2] = static_cast<uint8_t>(v);
  }
  if (rest != 0) {
    const int32_t a = table[in[0]], b = table[in[1]], c = rest == 3 ? table[in[2]] : 0;
    if ((a | b | c) < 0) return invalid();
    const uint32_t v = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6;
    o[0] = static_cast<uint8_t>(v >> 16);
    if (rest == 3) o[1] = static_cast<uint8_t>(v >> 8);
    // 2 leftover characters carry 4 unused bits, 3 carry 2; they must be zero to be canonical.
    const uint32_t unused = rest == 2 ? (v & 0xFFFF) : (v & 0xFF);
    if (unused != 0) {
      return InvalidArgument("invalid " + std::string(name) + ": non-canonical final character");
    }
  }
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrlAlphabet, false); }

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  if (text.find('=') != std::string_view::npos) {
    return InvalidArgument("invalid base64url: padding is not allowed");
  }
  if (text.size() % 4 == 1) return InvalidArgument("invalid base64url: impossible length");
  return DecodeUnpadded(text, kUrlTable, "base64url");
}

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStandardAlphabet, true); }

StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidArgument("invalid base64: length is not a multiple of 4");
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  const std::string_view data = text.substr(0, text.size() - padding);
  if (data.find('=') != std::string_view::npos) {
    return InvalidArgument("invalid base64: misplaced padding");
  }
  return DecodeUnpadded(data, kStandardTable, "base64");
}

std::string HexEncode(std::string_view bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

}  // namespace portico::crypto

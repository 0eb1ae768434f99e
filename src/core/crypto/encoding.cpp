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

std::string Encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16 |
                       static_cast<uint8_t>(bytes[i + 1]) << 8 | static_cast<uint8_t>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1])
                                                                  << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Decodes unpadded text whose length has already been checked not to be 1 mod 4.
StatusOr<std::string> DecodeUnpadded(std::string_view text, const DecodeTable& table,
                                     std::string_view name) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t accumulator = 0;
  int bits = 0;
  int last_value = 0;
  for (char c : text) {
    const int8_t value = table[static_cast<uint8_t>(c)];
    if (value == kInvalid) {
      return InvalidArgument("invalid " + std::string(name) + ": unexpected character");
    }
    last_value = value;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xff);
    }
  }
  // 2 leftover characters carry 4 unused bits, 3 carry 2; they must be zero to be canonical.
  const int unused_mask = (text.size() % 4 == 2) ? 0x0f : (text.size() % 4 == 3) ? 0x03 : 0;
  if ((last_value & unused_mask) != 0) {
    return InvalidArgument("invalid " + std::string(name) + ": non-canonical final character");
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

// Binary-to-text encodings: base64url (JOSE, tokens), base64 (PEM-like payloads) and hex.
//
// The decoders are strict so that every byte string has exactly one accepted encoding: a token
// cannot be altered into a second spelling that still decodes to the same bytes. All functions
// are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace portico::crypto {

// Base64url (RFC 4648 §5) without '=' padding, as JOSE requires.
std::string Base64UrlEncode(std::string_view bytes);

// Decodes unpadded base64url. Fails with InvalidArgument on '=' padding, on any character outside
// [A-Za-z0-9_-] (including whitespace), on a length that leaves one dangling character
// (length % 4 == 1), and on non-zero unused bits in the last character.
StatusOr<std::string> Base64UrlDecode(std::string_view text);

// Standard base64 (RFC 4648 §4) with '=' padding.
std::string Base64Encode(std::string_view bytes);

// Decodes padded standard base64. Fails with InvalidArgument unless the length is a multiple of
// 4, padding is exactly what the length requires and only at the end, every other character is
// in [A-Za-z0-9+/], and the unused bits of the last data character are zero.
StatusOr<std::string> Base64Decode(std::string_view text);

// Lowercase hexadecimal, two characters per byte.
std::string HexEncode(std::string_view bytes);

}  // namespace portico::crypto

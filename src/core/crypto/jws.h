// JSON Web Signature (RFC 7515) in compact serialization, for JWTs we issue and accept.
//
// Accepting a token takes two steps: ParseJws checks the shape and refuses every header feature
// we do not support, then VerifyJws checks the signature with a key the caller chose (by issuer
// and "kid", never from the token). The algorithm is the key's own; the header's "alg" must
// merely agree with it. All functions are thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/crypto/keys.h"
#include "core/status.h"

namespace portico::crypto {

// Signs `payload` with `key` and returns "header.payload.signature". The header is `header` with
// "alg" set to `alg`. Both must be JSON objects. Fails with InvalidArgument if they are not or
// if `alg` is not the key's algorithm.
StatusOr<std::string> SignJws(const nlohmann::json& header, const nlohmann::json& payload,
                              const PrivateKey& key, JwsAlgorithm alg);

// The hot path of the same: `encoded_header` is the base64url of a JSON object header that already
// names `alg` (a signer computes it once per key), `payload_json` the JSON text of an object
// (e.g. from JsonObjectWriter). Nothing is parsed; the key refuses an algorithm not its own.
StatusOr<std::string> SignJwsEncoded(std::string_view encoded_header, std::string_view payload_json,
                                     const PrivateKey& key, JwsAlgorithm alg);

// The base64url header {"alg":..., <extra members>} for SignJwsEncoded.
std::string EncodeJwsHeader(nlohmann::json header, JwsAlgorithm alg);

struct JwsLimits {
  size_t max_token_bytes = 16384;
};

struct ParsedJws {
  nlohmann::json header;            // a JSON object
  nlohmann::json payload;           // a JSON object (the claims), NOT yet authenticated
  std::string signing_input;        // "header.payload" exactly as in the token
  std::string signature;            // raw bytes, non-empty
  std::optional<JwsAlgorithm> alg;  // always set after a successful ParseJws
  std::string kid;                  // the "kid" header, or empty
};

// Splits and decodes a compact JWS without checking its signature. Fails with InvalidArgument
// (callers map it to their protocol's error, e.g. invalid_grant) if the token is longer than
// limits.max_token_bytes, does not have exactly three '.'-separated parts, has a part that is
// not strict base64url, has a header or payload that is not a JSON object or that repeats a key,
// has no string "alg" or one other than "RS256"/"ES256" (so "none" and "HS256" are refused),
// has a "crit", "jku", "x5u", "jwk" or "x5c" header, has a non-string "kid", or has an empty
// signature. Messages never quote the token.
StatusOr<ParsedJws> ParseJws(std::string_view compact, const JwsLimits& limits = {});

// Checks the signature of a parsed token with `key`, using the key's algorithm. Fails with
// InvalidArgument if the header "alg" is not the key's algorithm, and with Unauthenticated if
// the signature does not verify. Does not look at any claim (exp, aud, ...): callers must.
Status VerifyJws(const ParsedJws& jws, const PublicKey& key);

}  // namespace portico::crypto

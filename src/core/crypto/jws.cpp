#include "core/crypto/jws.h"

#include <array>

#include "core/crypto/encoding.h"
#include "core/json.h"

namespace portico::crypto {
namespace {

// Headers that would let the token choose its own verification key.
constexpr std::array<const char*, 4> kKeySourceHeaders = {"jku", "x5u", "jwk", "x5c"};

// The algorithm name from a hostile header, made safe to show: clipped and printable ASCII.
std::string PrintableName(std::string_view name) {
  constexpr size_t kMaxShown = 20;
  std::string out;
  for (char c : name.substr(0, kMaxShown)) out += (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
  if (name.size() > kMaxShown) out += "...";
  return out;
}

StatusOr<nlohmann::json> DecodeJsonObject(std::string_view part, const char* what,
                                          const JsonLimits& limits) {
  auto decoded = Base64UrlDecode(part);
  if (!decoded.ok()) return InvalidArgument(std::string("JWT ") + what + " is not valid base64url");
  auto json = ParseStrictJson(*decoded, limits);
  if (!json.ok()) {
    return InvalidArgument(std::string("JWT ") + what +
                           " is not valid: " + json.status().message());
  }
  if (!json->is_object()) return InvalidArgument(std::string("JWT ") + what + " is not an object");
  return std::move(json).value();
}

}  // namespace

StatusOr<std::string> SignJws(const nlohmann::json& header, const nlohmann::json& payload,
                              const PrivateKey& key, JwsAlgorithm alg) {
  if (!header.is_object() || !payload.is_object()) {
    return InvalidArgument("JWS header and payload must be JSON objects");
  }
  return SignJwsEncoded(EncodeJwsHeader(header, alg), JsonDump(payload), key, alg);
}

std::string EncodeJwsHeader(nlohmann::json header, JwsAlgorithm alg) {
  header["alg"] = std::string(AlgorithmName(alg));
  return Base64UrlEncode(JsonDump(header));
}

StatusOr<std::string> SignJwsEncoded(std::string_view encoded_header, std::string_view payload_json,
                                     const PrivateKey& key, JwsAlgorithm alg) {
  std::string token;
  token.reserve(encoded_header.size() + payload_json.size() * 4 / 3 + 4 + 360);
  token += encoded_header;
  token += '.';
  token += Base64UrlEncode(payload_json);
  PORTICO_ASSIGN_OR_RETURN(std::string signature, key.Sign(alg, token));
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

StatusOr<ParsedJws> ParseJws(std::string_view compact, const JwsLimits& limits) {
  if (compact.size() > limits.max_token_bytes) {
    return InvalidArgument("JWT is larger than " + std::to_string(limits.max_token_bytes) +
                           " bytes");
  }
  const size_t first_dot = compact.find('.');
  const size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : compact.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      compact.find('.', second_dot + 1) != std::string_view::npos) {
    return InvalidArgument("JWT must have exactly three parts");
  }
  const std::string_view header_part = compact.substr(0, first_dot);
  const std::string_view payload_part = compact.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = compact.substr(second_dot + 1);

  JsonLimits json_limits;
  json_limits.max_bytes = limits.max_token_bytes;
  ParsedJws jws;
  PORTICO_ASSIGN_OR_RETURN(jws.header, DecodeJsonObject(header_part, "header", json_limits));

  auto alg = jws.header.find("alg");
  if (alg == jws.header.end() || !alg->is_string()) {
    return InvalidArgument("JWT header has no string 'alg'");
  }
  const auto& alg_name = alg->get_ref<const std::string&>();
  jws.alg = AlgorithmFromName(alg_name);
  if (!jws.alg) {
    return InvalidArgument("JWT algorithm '" + PrintableName(alg_name) + "' is not allowed");
  }
  if (jws.header.contains("crit")) {
    return InvalidArgument("JWT critical header parameters are not supported");
  }
  for (const char* name : kKeySourceHeaders) {
    if (jws.header.contains(name)) {
      return InvalidArgument(std::string("JWT header '") + name +
                             "' is not accepted: keys are never taken from the token");
    }
  }
  if (auto kid = jws.header.find("kid"); kid != jws.header.end()) {
    if (!kid->is_string()) return InvalidArgument("JWT header 'kid' must be a string");
    jws.kid = kid->get<std::string>();
  }

  PORTICO_ASSIGN_OR_RETURN(jws.payload, DecodeJsonObject(payload_part, "payload", json_limits));

  auto signature = Base64UrlDecode(signature_part);
  if (!signature.ok()) return InvalidArgument("JWT signature is not valid base64url");
  if (signature->empty()) return InvalidArgument("JWT signature is empty");
  jws.signature = std::move(signature).value();
  jws.signing_input = std::string(compact.substr(0, second_dot));
  return jws;
}

Status VerifyJws(const ParsedJws& jws, const PublicKey& key) {
  if (!jws.alg || *jws.alg != key.algorithm()) {
    const std::string name = jws.alg ? std::string(AlgorithmName(*jws.alg)) : "(none)";
    return InvalidArgument("algorithm " + name + " is not allowed for this key");
  }
  return key.Verify(key.algorithm(), jws.signing_input, jws.signature);
}

}  // namespace portico::crypto

#include "author/service/health_cause.h"

namespace portico::author {
namespace {

bool Has(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

HealthVerdict Fail(const char* cause, std::string message) {
  return {false, cause, std::move(message)};
}

}  // namespace

HealthVerdict UnreachableVerdict(const std::string& server, const std::string& detail) {
  return Fail(kCauseServerUnreachable,
              "the authorization server " + server + " cannot be reached (" + detail + ")");
}

HealthVerdict ClassifyExchangeAnswer(int status, const nlohmann::json& body,
                                     const std::string& server) {
  if (status == 200) {
    if (body.is_object() && body.contains("access_token") && body["access_token"].is_string()) {
      return {true, "", kHealthOkMessage};
    }
    return Fail(kCauseOther, "the authorization server " + server +
                                 " answered 200 without an access token: is it an identity "
                                 "service?");
  }
  std::string error, description;
  if (body.is_object()) {
    if (body.contains("error") && body["error"].is_string()) error = body["error"];
    if (body.contains("error_description") && body["error_description"].is_string())
      description = body["error_description"];
  }
  const std::string said = description.empty() ? error : description;
  if (error == "invalid_client") {
    if (Has(description, "unknown client"))
      return Fail(kCauseUnknownClient,
                  "the client id is not known to the identity service (" + said + ")");
    if (Has(description, "client_secret"))
      return Fail(kCauseWrongSecret,
                  "the client secret is wrong for this client id (" + said + ")");
    return Fail(kCauseOther, "the identity service refused the client: " + said);
  }
  if (error == "invalid_grant") {
    if (Has(description, "signature does not match") || Has(description, "no certificate") ||
        Has(description, "certificate that signed")) {
      return Fail(kCauseCertificateNotRegistered,
                  "the identity service does not accept this author's certificate: register the "
                  "certificate of this IMS configuration on the credential (" +
                      said + ")");
    }
    if (Has(description, "has expired") || Has(description, "not yet valid") ||
        Has(description, "in the future")) {
      return Fail(kCausePayloadExpired,
                  "the identity service finds the JWT expired or not yet valid: check the "
                  "author's clock (" +
                      said + ")");
    }
    return Fail(kCausePayloadMalformed,
                "the JWT payload is not right for this credential (" + said + ")");
  }
  if (error == "invalid_scope") {
    return Fail(kCausePayloadMalformed,
                "the JWT payload's metascope is not right for this credential (" + said + ")");
  }
  if (status == 502 || status == 503 || status == 504) {
    return UnreachableVerdict(server, "HTTP " + std::to_string(status));
  }
  if (said.empty()) {
    return Fail(kCauseOther, "the authorization server " + server + " answered HTTP " +
                                 std::to_string(status) +
                                 " without an OAuth error: is the URL an identity service?");
  }
  return Fail(kCauseOther, "the identity service refused the exchange: " + said);
}

}  // namespace portico::author

#include "ims/client/ims_client.h"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "core/json.h"

namespace portico::ims {
namespace {

std::string Seg(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace

ImsClient::ImsClient(std::string base_url, http::ClientOptions options)
    : base_url_(std::move(base_url)), http_(options) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

StatusOr<nlohmann::json> ImsClient::Call(const std::string& method, const std::string& path,
                                         const std::optional<nlohmann::json>& body) {
  http::ClientRequest req{.method = method, .url = base_url_ + path};
  if (!token_.empty()) req.headers.Set("Authorization", "Bearer " + token_);
  if (body) {
    req.headers.Set("Content-Type", "application/json");
    req.body = JsonDump(*body);
  }
  PORTICO_ASSIGN_OR_RETURN(auto resp, http_.Send(req));
  PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(resp));
  if (resp.body.empty()) return nlohmann::json::object();
  auto j = resp.Json();
  if (j.is_discarded())
    return Internal("the identity service answered with a body that is not JSON");
  return j;
}

StatusOr<nlohmann::json> ImsClient::Login(const std::string& login, const std::string& password) {
  PORTICO_ASSIGN_OR_RETURN(auto j, Call("POST", "/api/v1/login",
                                        nlohmann::json{{"login", login}, {"password", password}}));
  if (!j.contains("access_token") || !j["access_token"].is_string())
    return Internal("login answer has no token");
  token_ = j["access_token"].get<std::string>();
  return j;
}

StatusOr<nlohmann::json> ImsClient::Me() { return Call("GET", "/api/v1/me"); }

StatusOr<nlohmann::json> ImsClient::CreateProject(const std::string& org, const std::string& name,
                                                  const std::vector<std::string>& apis) {
  nlohmann::json body = {{"name", name}};
  if (!apis.empty()) body["apis"] = apis;
  return Call("POST", "/api/v1/orgs/" + Seg(org) + "/projects", body);
}
StatusOr<nlohmann::json> ImsClient::ListProjects(const std::string& org) {
  return Call("GET", "/api/v1/orgs/" + Seg(org) + "/projects");
}
StatusOr<nlohmann::json> ImsClient::GetProject(const std::string& org, const std::string& project) {
  return Call("GET", "/api/v1/orgs/" + Seg(org) + "/projects/" + Seg(project));
}
Status ImsClient::DeleteProject(const std::string& org, const std::string& project) {
  return Call("DELETE", "/api/v1/orgs/" + Seg(org) + "/projects/" + Seg(project)).status();
}
StatusOr<nlohmann::json> ImsClient::AddApi(const std::string& org, const std::string& project,
                                           const std::string& api) {
  return Call("POST", "/api/v1/orgs/" + Seg(org) + "/projects/" + Seg(project) + "/apis",
              nlohmann::json{{"api", api}});
}

StatusOr<nlohmann::json> ImsClient::CreateCredential(const std::string& org,
                                                     const std::string& project,
                                                     const std::string& type,
                                                     const std::string& certificate_pem,
                                                     const std::string& name) {
  nlohmann::json body = {{"type", type}};
  if (!certificate_pem.empty()) body["certificate"] = certificate_pem;
  if (!name.empty()) body["name"] = name;
  return Call("POST", "/api/v1/orgs/" + Seg(org) + "/projects/" + Seg(project) + "/credentials",
              body);
}
StatusOr<nlohmann::json> ImsClient::ListCredentials(const std::string& org,
                                                    const std::optional<std::string>& project) {
  return Call("GET", "/api/v1/orgs/" + Seg(org) + "/credentials" +
                         (project ? "?project=" + Seg(*project) : ""));
}
StatusOr<nlohmann::json> ImsClient::GetCredential(const std::string& org,
                                                  const std::string& client_id) {
  return Call("GET", "/api/v1/orgs/" + Seg(org) + "/credentials/" + Seg(client_id));
}
Status ImsClient::DeleteCredential(const std::string& org, const std::string& client_id) {
  return Call("DELETE", "/api/v1/orgs/" + Seg(org) + "/credentials/" + Seg(client_id)).status();
}
StatusOr<nlohmann::json> ImsClient::RotateSecret(const std::string& org,
                                                 const std::string& client_id) {
  return Call("POST", "/api/v1/orgs/" + Seg(org) + "/credentials/" + Seg(client_id) + "/secret",
              nlohmann::json::object());
}
StatusOr<nlohmann::json> ImsClient::AddCertificate(const std::string& org,
                                                   const std::string& client_id,
                                                   const std::string& certificate_pem) {
  return Call("POST",
              "/api/v1/orgs/" + Seg(org) + "/credentials/" + Seg(client_id) + "/certificates",
              nlohmann::json{{"certificate", certificate_pem}});
}
StatusOr<nlohmann::json> ImsClient::RemoveCertificate(const std::string& org,
                                                      const std::string& client_id,
                                                      const std::string& fingerprint) {
  return Call("DELETE", "/api/v1/orgs/" + Seg(org) + "/credentials/" + Seg(client_id) +
                            "/certificates/" + Seg(fingerprint));
}
StatusOr<nlohmann::json> ImsClient::RotateSigningKey() {
  return Call("POST", "/api/v1/signing-keys/rotate", nlohmann::json::object());
}

StatusOr<http::ClientResponse> ImsClient::ExchangeJwt(const std::string& client_id,
                                                      const std::string& client_secret,
                                                      const std::string& jwt_token) {
  http::ClientRequest req{.method = "POST", .url = base_url_ + "/ims/exchange/jwt"};
  req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  req.body = http::EncodeForm(
      {{"client_id", client_id}, {"client_secret", client_secret}, {"jwt_token", jwt_token}});
  return http_.Send(req);
}

StatusOr<http::ClientResponse> ImsClient::ClientCredentials(const std::string& client_id,
                                                            const std::string& client_secret,
                                                            const std::string& scope) {
  http::ClientRequest req{.method = "POST", .url = base_url_ + "/ims/token/v3"};
  req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  req.body = http::EncodeForm({{"grant_type", "client_credentials"},
                               {"client_id", client_id},
                               {"client_secret", client_secret},
                               {"scope", scope}});
  return http_.Send(req);
}

StatusOr<nlohmann::json> ImsClient::Jwks() { return Call("GET", "/ims/keys"); }

}  // namespace portico::ims

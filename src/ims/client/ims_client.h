// A typed HTTP client of the identity service, used by the CLI, the other services and tests.
// Methods return the service's JSON documents (see the OpenAPI at /openapi.json) or the Status
// of its JSON error. Blocking; thread-safe except SetToken, which callers do before sharing.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/http/client.h"
#include "core/status.h"

namespace portico::ims {

class ImsClient {
 public:
  explicit ImsClient(std::string base_url, http::ClientOptions options = {});

  const std::string& base_url() const { return base_url_; }
  // Logs an admin in; remembers and returns the access token response.
  StatusOr<nlohmann::json> Login(const std::string& login, const std::string& password);
  void SetToken(std::string token) { token_ = std::move(token); }
  StatusOr<nlohmann::json> Me();

  StatusOr<nlohmann::json> CreateProject(const std::string& org, const std::string& name,
                                         const std::vector<std::string>& apis = {});
  StatusOr<nlohmann::json> ListProjects(const std::string& org);
  StatusOr<nlohmann::json> GetProject(const std::string& org, const std::string& project);
  Status DeleteProject(const std::string& org, const std::string& project);
  StatusOr<nlohmann::json> AddApi(const std::string& org, const std::string& project,
                                  const std::string& api);

  // type "service_account" (certificate PEM required) or "oauth_server_to_server".
  StatusOr<nlohmann::json> CreateCredential(const std::string& org, const std::string& project,
                                            const std::string& type,
                                            const std::string& certificate_pem,
                                            const std::string& name = "");
  StatusOr<nlohmann::json> ListCredentials(const std::string& org,
                                           const std::optional<std::string>& project);
  StatusOr<nlohmann::json> GetCredential(const std::string& org, const std::string& client_id);
  Status DeleteCredential(const std::string& org, const std::string& client_id);
  StatusOr<nlohmann::json> RotateSecret(const std::string& org, const std::string& client_id);
  StatusOr<nlohmann::json> AddCertificate(const std::string& org, const std::string& client_id,
                                          const std::string& certificate_pem);
  StatusOr<nlohmann::json> RemoveCertificate(const std::string& org, const std::string& client_id,
                                             const std::string& fingerprint);
  StatusOr<nlohmann::json> RotateSigningKey();

  // The token endpoints (form bodies), answering the raw response so callers see OAuth errors.
  StatusOr<http::ClientResponse> ExchangeJwt(const std::string& client_id,
                                             const std::string& client_secret,
                                             const std::string& jwt_token);
  StatusOr<http::ClientResponse> ClientCredentials(const std::string& client_id,
                                                   const std::string& client_secret,
                                                   const std::string& scope);
  StatusOr<nlohmann::json> Jwks();

 private:
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                const std::optional<nlohmann::json>& body = std::nullopt);

  std::string base_url_;
  std::string token_;
  http::HttpClient http_;
};

}  // namespace portico::ims

// The author's IMS configuration (SPEC A3): one per author. Creating it makes an RSA-2048 key
// pair and a self-signed certificate; the private key is sealed with the master key (SecretBox)
// and never leaves this class. The account (authorization server, client id, client secret
// sealed at rest, JWT payload) is filled afterwards; check health signs a fresh assertion and
// exchanges it at `<authorization_server>/ims/exchange/jwt`, naming the exact cause of a failure.
// The same exchange feeds the TokenProvider (tokens()) that portal calls use.
// Thread-safe; every method blocks (database, key generation, network).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "author/service/health_cause.h"
#include "author/service/token_provider.h"
#include "author/store/author_store.h"
#include "core/clock.h"
#include "core/crypto/secret_box.h"
#include "core/http/client.h"
#include "core/status.h"

namespace portico::author {

// What may be shown of the configuration: never the private key nor the client secret.
struct ImsConfigView {
  std::string alias;
  std::string solution;
  std::string certificate_fingerprint;  // SHA-256 of the DER certificate, hex
  int64_t certificate_not_after = 0;
  int64_t key_generation = 0;
  bool account_configured = false;
  std::string title;
  std::string authorization_server;
  std::string client_id;
  nlohmann::json jwt_payload;  // null until the account is filled
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct ImsAccount {
  std::string title;
  std::string authorization_server;  // http(s) base URL of the identity service
  std::string client_id;
  std::string client_secret;
  nlohmann::json jwt_payload;  // an object (see ValidateJwtPayload)
};

struct ImsIntegrationOptions {
  const Clock* clock = nullptr;  // default: the system clock
  std::chrono::hours certificate_validity{24 * 365};
  http::ClientOptions http{.connect_timeout = std::chrono::milliseconds(3'000),
                           .io_timeout = std::chrono::milliseconds(15'000)};
  TokenProviderOptions tokens;
};

class ImsIntegrationService {
 public:
  // `store` and `box` must outlive the service.
  ImsIntegrationService(AuthorStore& store, const crypto::SecretBox& box,
                        ImsIntegrationOptions options = {});
  ~ImsIntegrationService();

  // Creates the configuration: `solution` must be "portal", `alias` 1–64 bytes of printable
  // UTF-8. 409 ims_config_exists if one exists (an author has one).
  StatusOr<ImsConfigView> Create(const std::string& alias, const std::string& solution);
  // 404 no_ims_config when there is none.
  StatusOr<ImsConfigView> Get();
  // The public certificate (PEM).
  StatusOr<std::string> CertificatePem();
  // Replaces the key pair and certificate: the identity service refuses the new key until its
  // certificate is registered on the credential.
  StatusOr<ImsConfigView> Regenerate();
  // Fills or replaces the account. 400 naming the field for a bad value.
  StatusOr<ImsConfigView> SetAccount(const ImsAccount& account);
  Status Delete();

  // Check health: signs a fresh assertion and exchanges it. Never fails for the identity
  // service's refusals (they are the verdict); fails with 404 no_ims_config or 409
  // account_missing when there is nothing to check yet.
  StatusOr<HealthVerdict> CheckHealth();

  // The author's current access token (renewed before expiry; see token_provider.h).
  TokenProvider& tokens() { return *provider_; }

 private:
  class Exchanger;
  struct Attempt {
    HealthVerdict verdict;
    AccessToken token;
  };
  StatusOr<Attempt> ExchangeOnce();
  StatusOr<ImsConfigView> View(const ImsConfigRecord& record) const;

  AuthorStore& store_;
  const crypto::SecretBox& box_;
  ImsIntegrationOptions options_;
  const Clock& clock_;
  http::HttpClient http_;
  std::unique_ptr<Exchanger> exchanger_;
  std::unique_ptr<TokenProvider> provider_;
};

}  // namespace portico::author

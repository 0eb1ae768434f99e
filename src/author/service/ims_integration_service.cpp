#include "author/service/ims_integration_service.h"

#include "author/service/jwt_assertion.h"
#include "core/crypto/keys.h"
#include "core/crypto/random.h"
#include "core/crypto/x509.h"
#include "core/json.h"
#include "core/log.h"

namespace portico::author {
namespace {

constexpr std::string_view kClientSecretAad = "portico-author-client-secret";

std::string PrivateKeyAad(int64_t generation) {
  return "portico-author-ims-key:" + std::to_string(generation);
}

Status CheckAlias(const std::string& alias) {
  if (alias.empty() || alias.size() > 64) {
    return InvalidArgument("'alias' must be 1 to 64 bytes");
  }
  for (unsigned char c : alias) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("'alias' must not hold control characters");
  }
  return Status::Ok();
}

StatusOr<std::string> NormalizeServer(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return InvalidArgument("'authorization_server' must be an http:// or https:// URL");
  }
  if (url.size() > 2048 || url.find_first_of("?# \t\r\n") != std::string::npos) {
    return InvalidArgument("'authorization_server' must be a base URL without query or fragment");
  }
  return url;
}

struct KeyAndCert {
  std::string sealed_key;
  std::string cert_pem;
};

StatusOr<KeyAndCert> MakeKeyAndCert(const crypto::SecretBox& box, const std::string& alias,
                                    int64_t generation, std::chrono::hours validity) {
  PORTICO_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::GenerateRsa(2048));
  PORTICO_ASSIGN_OR_RETURN(std::string cert,
                           crypto::CreateSelfSignedCertificate(key, alias, validity));
  return KeyAndCert{box.Seal(key.ToPem(), PrivateKeyAad(generation)), std::move(cert)};
}

}  // namespace

class ImsIntegrationService::Exchanger final : public TokenExchanger {
 public:
  explicit Exchanger(ImsIntegrationService& svc) : svc_(svc) {}
  StatusOr<AccessToken> Exchange() override {
    PORTICO_ASSIGN_OR_RETURN(auto attempt, svc_.ExchangeOnce());
    if (!attempt.verdict.ok) {
      Code code = attempt.verdict.cause == kCauseServerUnreachable ? Code::kUnavailable
                                                                   : Code::kPreconditionFailed;
      return Status(code, attempt.verdict.cause,
                    "no access token from the identity service: " + attempt.verdict.message);
    }
    return attempt.token;
  }

 private:
  ImsIntegrationService& svc_;
};

ImsIntegrationService::ImsIntegrationService(AuthorStore& store, const crypto::SecretBox& box,
                                             ImsIntegrationOptions options)
    : store_(store),
      box_(box),
      options_(options),
      clock_(options.clock ? *options.clock : SystemClock()),
      http_(options.http),
      exchanger_(std::make_unique<Exchanger>(*this)) {
  TokenProviderOptions t = options.tokens;
  t.clock = &clock_;
  provider_ = std::make_unique<TokenProvider>(*exchanger_, t);
}

ImsIntegrationService::~ImsIntegrationService() = default;

StatusOr<ImsConfigView> ImsIntegrationService::View(const ImsConfigRecord& r) const {
  ImsConfigView v;
  v.alias = r.alias;
  v.solution = r.solution;
  auto cert = crypto::Certificate::FromPem(r.certificate_pem);
  if (!cert.ok()) return Internal("the stored certificate cannot be read");
  v.certificate_fingerprint = cert->fingerprint_sha256();
  v.certificate_not_after =
      std::chrono::duration_cast<std::chrono::seconds>(cert->not_after().time_since_epoch())
          .count();
  v.key_generation = r.key_generation;
  v.account_configured = !r.client_id.empty() && !r.sealed_client_secret.empty();
  v.title = r.title;
  v.authorization_server = r.authorization_server;
  v.client_id = r.client_id;
  v.jwt_payload = nullptr;
  if (!r.jwt_payload.empty()) {
    auto p = ParseStrictJson(r.jwt_payload);
    if (p.ok()) v.jwt_payload = *p;
  }
  v.created_at = r.created_at;
  v.updated_at = r.updated_at;
  return v;
}

StatusOr<ImsConfigView> ImsIntegrationService::Create(const std::string& alias,
                                                      const std::string& solution) {
  PORTICO_RETURN_IF_ERROR(CheckAlias(alias));
  if (solution != "portal") {
    return InvalidArgument("'solution' must be \"portal\" (the only cloud solution)");
  }
  // Refuse a second one before spending a key generation on it.
  if (auto existing = store_.GetImsConfig(); existing.ok()) {
    return Status(Code::kConflict, "ims_config_exists",
                  "this author already has an IMS configuration (alias '" + existing->alias +
                      "'); an author has only one: delete it before creating another");
  }
  PORTICO_ASSIGN_OR_RETURN(auto kc, MakeKeyAndCert(box_, alias, 1, options_.certificate_validity));
  ImsConfigRecord r;
  r.alias = alias;
  r.solution = solution;
  r.certificate_pem = kc.cert_pem;
  r.sealed_private_key = kc.sealed_key;
  r.key_generation = 1;
  r.created_at = r.updated_at = clock_.NowSeconds();
  PORTICO_RETURN_IF_ERROR(store_.InsertImsConfig(r));
  provider_->Reset();
  log::Info("ims_config_created", {{"alias", alias}});
  return View(r);
}

StatusOr<ImsConfigView> ImsIntegrationService::Get() {
  PORTICO_ASSIGN_OR_RETURN(auto r, store_.GetImsConfig());
  return View(r);
}

StatusOr<std::string> ImsIntegrationService::CertificatePem() {
  PORTICO_ASSIGN_OR_RETURN(auto r, store_.GetImsConfig());
  return r.certificate_pem;
}

StatusOr<ImsConfigView> ImsIntegrationService::Regenerate() {
  PORTICO_ASSIGN_OR_RETURN(auto r, store_.GetImsConfig());
  PORTICO_ASSIGN_OR_RETURN(
      auto kc, MakeKeyAndCert(box_, r.alias, r.key_generation + 1, options_.certificate_validity));
  r.key_generation += 1;
  r.certificate_pem = kc.cert_pem;
  r.sealed_private_key = kc.sealed_key;
  r.updated_at = clock_.NowSeconds();
  PORTICO_RETURN_IF_ERROR(store_.UpdateImsConfig(r));
  provider_->Reset();
  log::Info("ims_config_key_regenerated", {{"generation", r.key_generation}});
  return View(r);
}

StatusOr<ImsConfigView> ImsIntegrationService::SetAccount(const ImsAccount& a) {
  PORTICO_ASSIGN_OR_RETURN(auto r, store_.GetImsConfig());
  PORTICO_ASSIGN_OR_RETURN(std::string server, NormalizeServer(a.authorization_server));
  if (a.client_id.empty() || a.client_id.size() > 256) {
    return InvalidArgument("'client_id' must be 1 to 256 bytes");
  }
  if (a.client_secret.empty() || a.client_secret.size() > 1024) {
    return InvalidArgument("'client_secret' must be 1 to 1024 bytes");
  }
  if (a.title.size() > 256) return InvalidArgument("'title' must be at most 256 bytes");
  PORTICO_RETURN_IF_ERROR(ValidateJwtPayload(a.jwt_payload));
  std::string payload = JsonDump(a.jwt_payload);
  if (payload.size() > 16 * 1024) return InvalidArgument("'jwt_payload' is larger than 16 KiB");
  r.title = a.title;
  r.authorization_server = server;
  r.client_id = a.client_id;
  r.sealed_client_secret = box_.Seal(a.client_secret, kClientSecretAad);
  r.jwt_payload = payload;
  r.updated_at = clock_.NowSeconds();
  PORTICO_RETURN_IF_ERROR(store_.UpdateImsConfig(r));
  provider_->Reset();
  log::Info("ims_account_set", {{"client_id", a.client_id}, {"server", server}});
  return View(r);
}

Status ImsIntegrationService::Delete() {
  PORTICO_RETURN_IF_ERROR(store_.DeleteImsConfig());
  provider_->Reset();
  log::Info("ims_config_deleted");
  return Status::Ok();
}

StatusOr<ImsIntegrationService::Attempt> ImsIntegrationService::ExchangeOnce() {
  PORTICO_ASSIGN_OR_RETURN(auto r, store_.GetImsConfig());
  if (r.client_id.empty() || r.sealed_client_secret.empty() || r.jwt_payload.empty()) {
    return Status(Code::kConflict, "account_missing",
                  "the IMS configuration has no account yet: set the authorization server, "
                  "client id, client secret and JWT payload first");
  }
  PORTICO_ASSIGN_OR_RETURN(std::string pem,
                           box_.Open(r.sealed_private_key, PrivateKeyAad(r.key_generation)));
  PORTICO_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::FromPem(pem));
  PORTICO_ASSIGN_OR_RETURN(std::string secret, box_.Open(r.sealed_client_secret, kClientSecretAad));
  PORTICO_ASSIGN_OR_RETURN(auto payload, ParseStrictJson(r.jwt_payload));
  const int64_t now = clock_.NowSeconds();
  PORTICO_ASSIGN_OR_RETURN(
      std::string jwt, SignAssertion(AssertionClaims(payload, now, crypto::RandomToken(16)), key));
  http::ClientRequest req;
  req.method = "POST";
  req.url = r.authorization_server + "/ims/exchange/jwt";
  req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  req.headers.Set("Accept", "application/json");
  req.body =
      http::EncodeForm({{"client_id", r.client_id}, {"client_secret", secret}, {"jwt_token", jwt}});
  const int64_t sent_ms = clock_.NowMillis();
  auto resp = http_.Send(req);
  Attempt out;
  if (!resp.ok()) {
    out.verdict = UnreachableVerdict(r.authorization_server, resp.status().message());
  } else {
    nlohmann::json body = resp->Json();
    out.verdict = ClassifyExchangeAnswer(resp->status, body, r.authorization_server);
    if (out.verdict.ok) {
      int64_t expires_in_ms = 0;
      if (body.contains("expires_in") && body["expires_in"].is_number_integer()) {
        expires_in_ms = body["expires_in"].get<int64_t>();
      }
      if (expires_in_ms <= 0) {
        out.verdict = {false, kCauseOther, "the identity service gave a token without expires_in"};
      } else {
        out.token = {body["access_token"].get<std::string>(), sent_ms, sent_ms + expires_in_ms};
      }
    }
  }
  log::Info("ims_exchange", {{"ok", out.verdict.ok}, {"cause", out.verdict.cause}});
  return out;
}

StatusOr<HealthVerdict> ImsIntegrationService::CheckHealth() {
  PORTICO_ASSIGN_OR_RETURN(auto attempt, ExchangeOnce());
  return attempt.verdict;
}

}  // namespace portico::author

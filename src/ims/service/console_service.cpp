#include "ims/service/console_service.h"

#include <algorithm>

#include "core/crypto/random.h"
#include "core/crypto/sha256.h"
#include "core/crypto/x509.h"
#include "core/log.h"

namespace portico::ims {
namespace {

constexpr size_t kMaxCertificatePemBytes = 16 * 1024;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Status CheckDisplayName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > 100)
    return InvalidArgument(std::string(what) + " must be 1 to 100 characters");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      return InvalidArgument(std::string(what) + " must not contain control characters");
  }
  return Status::Ok();
}

ConsoleService::ConsoleService(ImsStore& store, const Clock& clock, const ImsSettings& settings)
    : store_(store), clock_(clock), settings_(settings) {}

StatusOr<ProjectRecord> ConsoleService::CreateProject(const std::string& org_id,
                                                      const std::string& name) {
  PORTICO_RETURN_IF_ERROR(CheckDisplayName("project name", name));
  ProjectRecord p{crypto::RandomHex(8), org_id, name, {}, clock_.NowSeconds()};
  PORTICO_RETURN_IF_ERROR(store_.CreateProject(p));
  log::Info("project_created", {{"org", org_id}, {"project", p.id}});
  return p;
}

StatusOr<std::vector<ProjectRecord>> ConsoleService::ListProjects(const std::string& org_id) {
  return store_.ListProjects(org_id);
}

StatusOr<ProjectRecord> ConsoleService::GetProject(const std::string& org_id,
                                                   const std::string& id_or_name) {
  return store_.FindProject(org_id, id_or_name);
}

Status ConsoleService::DeleteProject(const std::string& org_id, const std::string& id_or_name) {
  PORTICO_ASSIGN_OR_RETURN(auto p, store_.FindProject(org_id, id_or_name));
  PORTICO_RETURN_IF_ERROR(store_.DeleteProject(org_id, p.id));
  log::Info("project_deleted", {{"org", org_id}, {"project", p.id}});
  return Status::Ok();
}

StatusOr<ProjectRecord> ConsoleService::AddApi(const std::string& org_id,
                                               const std::string& project, const std::string& api) {
  if (!FindApi(api))
    return InvalidArgument("unknown API '" + api.substr(0, 64) + "'; known: portal");
  PORTICO_ASSIGN_OR_RETURN(auto p, store_.FindProject(org_id, project));
  if (std::find(p.apis.begin(), p.apis.end(), api) == p.apis.end()) {
    p.apis.push_back(api);
    PORTICO_RETURN_IF_ERROR(store_.UpdateProjectApis(p.id, p.apis));
  }
  return p;
}

StatusOr<CertificateRecord> ConsoleService::CheckCertificate(const std::string& pem) {
  if (pem.size() > kMaxCertificatePemBytes) return InvalidArgument("certificate exceeds 16 KiB");
  auto cert = crypto::Certificate::FromPem(pem);
  if (!cert.ok())
    return InvalidArgument("certificate is not a valid PEM X.509 certificate: " +
                           cert.status().message());
  const int64_t not_after =
      std::chrono::duration_cast<std::chrono::seconds>(cert->not_after().time_since_epoch())
          .count();
  if (not_after <= clock_.NowSeconds()) return InvalidArgument("certificate has expired");
  return CertificateRecord{cert->fingerprint_sha256(), cert->pem(), not_after, clock_.NowSeconds()};
}

StatusOr<CreatedCredential> ConsoleService::Create(const std::string& org_id,
                                                   const std::string& project,
                                                   const std::string& type, const std::string& name,
                                                   std::optional<CertificateRecord> certificate) {
  PORTICO_ASSIGN_OR_RETURN(auto p, store_.FindProject(org_id, project));
  if (p.apis.empty())
    return InvalidArgument("project '" + p.name + "' has no API; add the portal API first");
  std::string display = name.empty() ? p.name + " credential" : name;
  PORTICO_RETURN_IF_ERROR(CheckDisplayName("credential name", display));
  CreatedCredential out;
  CredentialRecord& c = out.credential;
  c.client_id = crypto::RandomHex(16);
  c.org_id = org_id;
  c.project_id = p.id;
  c.type = type;
  c.name = display;
  out.client_secret = "pcs-" + crypto::RandomToken(32);
  c.secret_hash = crypto::Sha256Hex(out.client_secret);
  c.technical_account_id = Upper(crypto::RandomHex(12)) + "@techacct.portico";
  for (const auto& api : p.apis) {
    const ApiDefinition* def = FindApi(api);
    if (!def) continue;
    for (const auto& s : type == "service_account" ? def->metascopes : def->oauth_scopes) {
      if (std::find(c.scopes.begin(), c.scopes.end(), s) == c.scopes.end()) c.scopes.push_back(s);
    }
  }
  c.created_at = clock_.NowSeconds();
  c.secret_rotated_at = c.created_at;
  if (certificate) c.certificates.push_back(*certificate);
  PORTICO_RETURN_IF_ERROR(store_.CreateCredential(c));
  log::Info("credential_created", {{"org", org_id}, {"client_id", c.client_id}, {"type", type}});
  return out;
}

StatusOr<CreatedCredential> ConsoleService::CreateServiceAccount(const std::string& org_id,
                                                                 const std::string& project,
                                                                 const std::string& certificate_pem,
                                                                 const std::string& name) {
  PORTICO_ASSIGN_OR_RETURN(auto cert, CheckCertificate(certificate_pem));
  return Create(org_id, project, "service_account", name, cert);
}

StatusOr<CreatedCredential> ConsoleService::CreateOAuth(const std::string& org_id,
                                                        const std::string& project,
                                                        const std::string& name) {
  return Create(org_id, project, "oauth_server_to_server", name, std::nullopt);
}

StatusOr<std::vector<CredentialRecord>> ConsoleService::ListCredentials(
    const std::string& org_id, const std::optional<std::string>& project) {
  std::optional<std::string> project_id;
  if (project) {
    PORTICO_ASSIGN_OR_RETURN(auto p, store_.FindProject(org_id, *project));
    project_id = p.id;
  }
  return store_.ListCredentials(org_id, project_id);
}

StatusOr<CredentialRecord> ConsoleService::GetCredential(const std::string& org_id,
                                                         const std::string& client_id) {
  auto c = store_.GetCredential(client_id);
  if (!c.ok() || c->org_id != org_id)
    return NotFound("no credential '" + client_id.substr(0, 64) + "' in this org");
  return c;
}

Status ConsoleService::DeleteCredential(const std::string& org_id, const std::string& client_id) {
  PORTICO_RETURN_IF_ERROR(GetCredential(org_id, client_id).status());
  PORTICO_RETURN_IF_ERROR(store_.DeleteCredential(org_id, client_id));
  log::Info("credential_deleted", {{"org", org_id}, {"client_id", client_id}});
  return Status::Ok();
}

StatusOr<std::string> ConsoleService::RotateSecret(const std::string& org_id,
                                                   const std::string& client_id) {
  PORTICO_RETURN_IF_ERROR(GetCredential(org_id, client_id).status());
  std::string secret = "pcs-" + crypto::RandomToken(32);
  PORTICO_RETURN_IF_ERROR(
      store_.UpdateSecretHash(client_id, crypto::Sha256Hex(secret), clock_.NowSeconds()));
  log::Info("credential_secret_rotated", {{"org", org_id}, {"client_id", client_id}});
  return secret;
}

StatusOr<CredentialRecord> ConsoleService::AddCertificate(const std::string& org_id,
                                                          const std::string& client_id,
                                                          const std::string& certificate_pem) {
  PORTICO_ASSIGN_OR_RETURN(auto c, GetCredential(org_id, client_id));
  if (c.type != "service_account")
    return InvalidArgument("only service-account credentials hold certificates");
  if (static_cast<int>(c.certificates.size()) >= settings_.max_certificates) {
    return Conflict("a credential holds at most " + std::to_string(settings_.max_certificates) +
                    " certificates; remove one first");
  }
  PORTICO_ASSIGN_OR_RETURN(auto cert, CheckCertificate(certificate_pem));
  PORTICO_RETURN_IF_ERROR(store_.AddCertificate(client_id, cert));
  log::Info("certificate_added", {{"client_id", client_id}, {"fingerprint", cert.fingerprint}});
  return GetCredential(org_id, client_id);
}

StatusOr<CredentialRecord> ConsoleService::RemoveCertificate(const std::string& org_id,
                                                             const std::string& client_id,
                                                             const std::string& fingerprint) {
  PORTICO_ASSIGN_OR_RETURN(auto c, GetCredential(org_id, client_id));
  bool found = false;
  for (const auto& cert : c.certificates) found |= cert.fingerprint == fingerprint;
  if (!found) return NotFound("no certificate with this fingerprint on the credential");
  if (c.certificates.size() <= 1) {
    return Conflict(
        "a service account keeps at least one certificate; add the new one before removing this");
  }
  PORTICO_RETURN_IF_ERROR(store_.RemoveCertificate(client_id, fingerprint));
  log::Info("certificate_removed", {{"client_id", client_id}, {"fingerprint", fingerprint}});
  return GetCredential(org_id, client_id);
}

nlohmann::json ConsoleService::JwtPayload(const CredentialRecord& c) const {
  nlohmann::json p = {
      {"exp", clock_.NowSeconds() + 24 * 3600},
      {"iss", c.org_id},
      {"sub", c.technical_account_id},
      {"aud", settings_.public_url + "/c/" + c.client_id},
  };
  for (const auto& s : c.scopes) p[settings_.public_url + "/s/" + s] = true;
  return p;
}

}  // namespace portico::ims

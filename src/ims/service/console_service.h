// The developer console (SPEC I2): projects, the APIs added to them, and the credentials made in
// them — service accounts from an uploaded certificate, and OAuth server-to-server clients.
// Secrets are returned once, at creation or rotation, and stored only as SHA-256. Every call is
// scoped to one org: an id of another org is answered as if it did not exist. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "ims/service/ims_settings.h"
#include "ims/store/ims_store.h"

namespace portico::ims {

struct CreatedCredential {
  CredentialRecord credential;
  std::string client_secret;  // shown once
};

class ConsoleService {
 public:
  ConsoleService(ImsStore& store, const Clock& clock, const ImsSettings& settings);

  StatusOr<ProjectRecord> CreateProject(const std::string& org_id, const std::string& name);
  StatusOr<std::vector<ProjectRecord>> ListProjects(const std::string& org_id);
  StatusOr<ProjectRecord> GetProject(const std::string& org_id, const std::string& id_or_name);
  Status DeleteProject(const std::string& org_id, const std::string& id_or_name);
  // Adds a known API ("portal") to the project; adding it twice is not an error.
  StatusOr<ProjectRecord> AddApi(const std::string& org_id, const std::string& project,
                                 const std::string& api);

  // A service-account credential whose assertions are signed by the key of `certificate_pem`.
  // The project must have an API; the credential holds the metascopes of the project's APIs.
  StatusOr<CreatedCredential> CreateServiceAccount(const std::string& org_id,
                                                   const std::string& project,
                                                   const std::string& certificate_pem,
                                                   const std::string& name);
  // An OAuth server-to-server credential holding the OAuth scopes of the project's APIs.
  StatusOr<CreatedCredential> CreateOAuth(const std::string& org_id, const std::string& project,
                                          const std::string& name);
  StatusOr<std::vector<CredentialRecord>> ListCredentials(
      const std::string& org_id, const std::optional<std::string>& project);
  StatusOr<CredentialRecord> GetCredential(const std::string& org_id, const std::string& client_id);
  Status DeleteCredential(const std::string& org_id, const std::string& client_id);
  // Replaces the client secret; the old one stops working at once. Returns the new secret.
  StatusOr<std::string> RotateSecret(const std::string& org_id, const std::string& client_id);
  // Adds a second certificate (at most two), so the signing key can change without downtime.
  StatusOr<CredentialRecord> AddCertificate(const std::string& org_id, const std::string& client_id,
                                            const std::string& certificate_pem);
  // Removes a certificate; a service account keeps at least one.
  StatusOr<CredentialRecord> RemoveCertificate(const std::string& org_id,
                                               const std::string& client_id,
                                               const std::string& fingerprint);

  // The ready JWT payload of a service account (iss, sub, aud, metascope claims, exp 24 h ahead).
  nlohmann::json JwtPayload(const CredentialRecord& credential) const;

 private:
  StatusOr<CertificateRecord> CheckCertificate(const std::string& pem);
  StatusOr<CreatedCredential> Create(const std::string& org_id, const std::string& project,
                                     const std::string& type, const std::string& name,
                                     std::optional<CertificateRecord> certificate);

  ImsStore& store_;
  const Clock& clock_;
  const ImsSettings& settings_;  // owned by the service assembly; read-only once serving
};

// A name typed by a person (org, project, credential): 1–100 characters, no control characters.
Status CheckDisplayName(std::string_view what, std::string_view name);

}  // namespace portico::ims

// The identity service's persistent state: orgs, users, projects, credentials with their
// certificates, signing keys, and the assertion ids (jti) already used. SQL lives here and only
// here; every call is blocking (run it on the handler pool) and thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/sql.h"

namespace portico::ims {

struct OrgRecord {
  std::string id;
  std::string name;
  int64_t created_at = 0;
};

struct UserRecord {
  std::string id;
  std::string org_id;
  std::string login;
  std::string password_hash;
  std::string role;  // "org_admin"
  int64_t created_at = 0;
};

struct ProjectRecord {
  std::string id;
  std::string org_id;
  std::string name;
  std::vector<std::string> apis;  // e.g. {"portal"}
  int64_t created_at = 0;
};

struct CertificateRecord {
  std::string fingerprint;  // sha256 of the DER, hex
  std::string pem;
  int64_t not_after = 0;
  int64_t added_at = 0;
};

struct CredentialRecord {
  std::string client_id;
  std::string org_id;
  std::string project_id;
  std::string type;  // "service_account" or "oauth_server_to_server"
  std::string name;
  std::string secret_hash;  // sha256 hex of the client secret
  std::string technical_account_id;
  std::vector<std::string> scopes;  // metascopes (service account) or OAuth scopes
  int64_t created_at = 0;
  int64_t secret_rotated_at = 0;
  std::vector<CertificateRecord> certificates;  // service accounts only, oldest first
};

// An assertion id (jti) in use until `expires_at` (seconds).
struct JtiRecord {
  std::string client_id;
  std::string jti;
  int64_t expires_at = 0;
};

struct SigningKeyRecord {
  std::string kid;
  std::string sealed_private_key;  // SecretBox-sealed PKCS#8 PEM
  std::string public_jwk;          // JSON text
  int64_t created_at = 0;
  std::optional<int64_t> retired_at;
};

class ImsStore {
 public:
  // Applies the schema migrations; the store does not own the database.
  static StatusOr<std::unique_ptr<ImsStore>> Open(store::SqlDatabase& db);

  Status CreateOrg(const OrgRecord& org);
  StatusOr<OrgRecord> GetOrg(const std::string& id);  // kNotFound if absent
  StatusOr<std::vector<OrgRecord>> ListOrgs();

  Status CreateUser(const UserRecord& user);  // kConflict if the login exists
  StatusOr<UserRecord> FindUserByLogin(const std::string& login);
  StatusOr<UserRecord> GetUser(const std::string& id);

  Status CreateProject(const ProjectRecord& project);  // kConflict on a duplicate name in the org
  Status UpdateProjectApis(const std::string& project_id, const std::vector<std::string>& apis);
  StatusOr<std::vector<ProjectRecord>> ListProjects(const std::string& org_id);
  // By id or by name, within the org only.
  StatusOr<ProjectRecord> FindProject(const std::string& org_id, const std::string& id_or_name);
  // Deletes the project and its credentials.
  Status DeleteProject(const std::string& org_id, const std::string& project_id);

  Status CreateCredential(const CredentialRecord& credential);
  // Any org: the token endpoints look clients up by id alone.
  StatusOr<CredentialRecord> GetCredential(const std::string& client_id);
  StatusOr<std::vector<CredentialRecord>> ListCredentials(
      const std::string& org_id, const std::optional<std::string>& project_id);
  Status DeleteCredential(const std::string& org_id, const std::string& client_id);
  Status UpdateSecretHash(const std::string& client_id, const std::string& secret_hash, int64_t at);
  Status AddCertificate(const std::string& client_id, const CertificateRecord& certificate);
  Status RemoveCertificate(const std::string& client_id, const std::string& fingerprint);

  StatusOr<std::vector<SigningKeyRecord>> ListSigningKeys();
  Status InsertSigningKey(const SigningKeyRecord& key);
  Status RetireSigningKeys(int64_t at);  // retires every active key
  Status DeleteSigningKey(const std::string& kid);

  // Used assertion ids live in two tables: an append-only log (jti_log) that the replay ledger
  // writes by group commit while it decides replays in memory, and a table keyed by id
  // (used_jtis) that decides them when the ledger is over its memory bound.
  //
  // Records in used_jtis that `jti` of `client_id` was used until `expires_at`. Fails with
  // kConflict if it was already recorded there and has not expired by `now` (a replay); an
  // expired record is reused. Only meaningful after IndexJtiLog.
  Status RecordJti(const std::string& client_id, const std::string& jti, int64_t expires_at,
                   int64_t now);
  // Appends `records` to the log in one transaction (no lookup: the ledger has decided).
  Status WriteJtis(const std::vector<JtiRecord>& records);
  // Moves the log's unexpired ids into used_jtis (the later expiry wins) and empties the log,
  // in one transaction: from then on RecordJti sees every id.
  Status IndexJtiLog(int64_t now);
  // The ids that have not expired by `now` in either table, at most `limit` rows (an id reused
  // after it expired can appear twice; the later expiry is the one that counts).
  StatusOr<std::vector<JtiRecord>> LoadJtis(int64_t now, size_t limit);
  // Forgets ids that expired before `now` in both tables; returns how many rows.
  StatusOr<int64_t> PruneJtis(int64_t now);

  // A number that grows after every change this store makes to credentials or certificates
  // (delete, secret rotation, certificates, project deletion), so caches of credentials in this
  // process can tell they are stale. Read it before reading the credential it guards.
  uint64_t credential_generation() const {
    return credential_generation_.load(std::memory_order_acquire);
  }

 private:
  explicit ImsStore(store::SqlDatabase& db) : db_(db) {}
  StatusOr<std::vector<CertificateRecord>> Certificates(store::SqlSession* session,
                                                        const std::string& client_id);
  // Bumps the credential generation when it leaves scope, after the change is committed.
  struct CredentialChange {
    std::atomic<uint64_t>& generation;
    ~CredentialChange() { generation.fetch_add(1, std::memory_order_acq_rel); }
  };
  store::SqlDatabase& db_;
  std::atomic<uint64_t> credential_generation_{0};
};

}  // namespace portico::ims

#include "ims/store/ims_store.h"

#include <array>

#include <nlohmann/json.hpp>

namespace portico::ims {
namespace {

using store::Migration;
using store::SqlBlob;
using store::SqlRow;

const std::array<Migration, 2> kMigrations = {
    Migration{1, "initial",
              R"sql(
CREATE TABLE orgs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;
CREATE TABLE users (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  login TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, role TEXT NOT NULL,
  created_at INTEGER NOT NULL) STRICT;
CREATE TABLE projects (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name TEXT NOT NULL, apis TEXT NOT NULL, created_at INTEGER NOT NULL,
  UNIQUE (org_id, name)) STRICT;
CREATE TABLE credentials (
  client_id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  type TEXT NOT NULL, name TEXT NOT NULL, secret_hash TEXT NOT NULL,
  technical_account_id TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL, secret_rotated_at INTEGER NOT NULL) STRICT;
CREATE INDEX credentials_org ON credentials (org_id, project_id);
CREATE TABLE certificates (
  client_id TEXT NOT NULL REFERENCES credentials(client_id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL, pem TEXT NOT NULL, not_after INTEGER NOT NULL,
  added_at INTEGER NOT NULL, PRIMARY KEY (client_id, fingerprint)) STRICT;
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY, private_key BLOB NOT NULL, public_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL, retired_at INTEGER) STRICT;
CREATE TABLE used_jtis (
  client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, jti)) STRICT, WITHOUT ROWID;
CREATE INDEX used_jtis_expiry ON used_jtis (expires_at);
)sql",
              R"sql(
CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE users (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  login TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, role TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE projects (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name TEXT NOT NULL, apis TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (org_id, name));
CREATE TABLE credentials (
  client_id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  type TEXT NOT NULL, name TEXT NOT NULL, secret_hash TEXT NOT NULL,
  technical_account_id TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL, secret_rotated_at BIGINT NOT NULL);
CREATE INDEX credentials_org ON credentials (org_id, project_id);
CREATE TABLE certificates (
  client_id TEXT NOT NULL REFERENCES credentials(client_id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL, pem TEXT NOT NULL, not_after BIGINT NOT NULL,
  added_at BIGINT NOT NULL, PRIMARY KEY (client_id, fingerprint));
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY, private_key BYTEA NOT NULL, public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL, retired_at BIGINT);
CREATE TABLE used_jtis (
  client_id TEXT NOT NULL, jti TEXT NOT NULL, expires_at BIGINT NOT NULL,
  PRIMARY KEY (client_id, jti));
CREATE INDEX used_jtis_expiry ON used_jtis (expires_at);
)sql"},
    // Used jtis are appended to a log (rowid order, so a group commit dirties one or two pages, not
    // one B-tree leaf per id); used_jtis, keyed by id, serves only the ledger's over-the-bound
    // mode.
    Migration{2, "jti_log",
              R"sql(
CREATE TABLE jti_log (
  seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL) STRICT;
INSERT INTO jti_log (client_id, jti, expires_at) SELECT client_id, jti, expires_at FROM used_jtis;
DELETE FROM used_jtis;
)sql",
              R"sql(
CREATE TABLE jti_log (
  seq BIGSERIAL PRIMARY KEY, client_id TEXT NOT NULL, jti TEXT NOT NULL,
  expires_at BIGINT NOT NULL);
INSERT INTO jti_log (client_id, jti, expires_at) SELECT client_id, jti, expires_at FROM used_jtis;
DELETE FROM used_jtis;
)sql"}};

std::string ToJsonArray(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::vector<std::string> FromJsonArray(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

ProjectRecord ProjectFrom(const SqlRow& r) {
  return ProjectRecord{r.Text("id"), r.Text("org_id"), r.Text("name"),
                       FromJsonArray(r.Text("apis")), r.Int("created_at")};
}

CredentialRecord CredentialFrom(const SqlRow& r) {
  CredentialRecord c;
  c.client_id = r.Text("client_id");
  c.org_id = r.Text("org_id");
  c.project_id = r.Text("project_id");
  c.type = r.Text("type");
  c.name = r.Text("name");
  c.secret_hash = r.Text("secret_hash");
  c.technical_account_id = r.Text("technical_account_id");
  c.scopes = FromJsonArray(r.Text("scopes"));
  c.created_at = r.Int("created_at");
  c.secret_rotated_at = r.Int("secret_rotated_at");
  return c;
}

UserRecord UserFrom(const SqlRow& r) {
  return UserRecord{r.Text("id"),   r.Text("org_id"),   r.Text("login"), r.Text("password_hash"),
                    r.Text("role"), r.Int("created_at")};
}

constexpr const char* kCredentialColumns =
    "client_id, org_id, project_id, type, name, secret_hash, technical_account_id, scopes, "
    "created_at, "
    "secret_rotated_at";

}  // namespace

StatusOr<std::unique_ptr<ImsStore>> ImsStore::Open(store::SqlDatabase& db) {
  PORTICO_RETURN_IF_ERROR(db.Migrate("ims", kMigrations));
  return std::unique_ptr<ImsStore>(new ImsStore(db));
}

Status ImsStore::CreateOrg(const OrgRecord& org) {
  auto r = db_.Execute("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)",
                       {org.id, org.name, org.created_at});
  return r.status();
}

StatusOr<OrgRecord> ImsStore::GetOrg(const std::string& id) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("SELECT id, name, created_at FROM orgs WHERE id = $1", {id}));
  if (r.empty()) return NotFound("no such org");
  return OrgRecord{r[0].Text(0), r[0].Text(1), r[0].Int(2)};
}

StatusOr<std::vector<OrgRecord>> ImsStore::ListOrgs() {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("SELECT id, name, created_at FROM orgs ORDER BY created_at, id"));
  std::vector<OrgRecord> out;
  for (const auto& row : r) out.push_back({row.Text(0), row.Text(1), row.Int(2)});
  return out;
}

Status ImsStore::CreateUser(const UserRecord& u) {
  auto r = db_.Execute(
      "INSERT INTO users (id, org_id, login, password_hash, role, created_at) VALUES ($1, $2, $3, "
      "$4, $5, $6)",
      {u.id, u.org_id, u.login, u.password_hash, u.role, u.created_at});
  if (r.status().code() == Code::kConflict) return Conflict("a user with this login exists");
  return r.status();
}

StatusOr<UserRecord> ImsStore::FindUserByLogin(const std::string& login) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute(
          "SELECT id, org_id, login, password_hash, role, created_at FROM users WHERE login = $1",
          {login}));
  if (r.empty()) return NotFound("no such user");
  return UserFrom(r[0]);
}

StatusOr<UserRecord> ImsStore::GetUser(const std::string& id) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute(
          "SELECT id, org_id, login, password_hash, role, created_at FROM users WHERE id = $1",
          {id}));
  if (r.empty()) return NotFound("no such user");
  return UserFrom(r[0]);
}

Status ImsStore::CreateProject(const ProjectRecord& p) {
  auto r = db_.Execute(
      "INSERT INTO projects (id, org_id, name, apis, created_at) VALUES ($1, $2, $3, $4, $5)",
      {p.id, p.org_id, p.name, ToJsonArray(p.apis), p.created_at});
  if (r.status().code() == Code::kConflict)
    return Conflict("a project named '" + p.name + "' exists in this org");
  return r.status();
}

Status ImsStore::UpdateProjectApis(const std::string& project_id,
                                   const std::vector<std::string>& apis) {
  return db_.Execute("UPDATE projects SET apis = $2 WHERE id = $1", {project_id, ToJsonArray(apis)})
      .status();
}

StatusOr<std::vector<ProjectRecord>> ImsStore::ListProjects(const std::string& org_id) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute(
          "SELECT id, org_id, name, apis, created_at FROM projects WHERE org_id = $1 ORDER BY name",
          {org_id}));
  std::vector<ProjectRecord> out;
  for (const auto& row : r) out.push_back(ProjectFrom(row));
  return out;
}

StatusOr<ProjectRecord> ImsStore::FindProject(const std::string& org_id,
                                              const std::string& id_or_name) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("SELECT id, org_id, name, apis, created_at FROM projects "
                          "WHERE org_id = $1 AND (id = $2 OR name = $2) ORDER BY id = $2 DESC",
                          {org_id, id_or_name}));
  if (r.empty()) return NotFound("no project '" + id_or_name + "' in this org");
  return ProjectFrom(r[0]);
}

Status ImsStore::DeleteProject(const std::string& org_id, const std::string& project_id) {
  CredentialChange change{credential_generation_};
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("DELETE FROM projects WHERE org_id = $1 AND id = $2",
                                               {org_id, project_id}));
  if (r.rows_affected == 0) return NotFound("no such project in this org");
  return Status::Ok();
}

Status ImsStore::CreateCredential(const CredentialRecord& c) {
  return db_.Transaction([&](store::SqlSession& s) -> Status {
    auto r = s.Execute(
        "INSERT INTO credentials (client_id, org_id, project_id, type, name, secret_hash, "
        "technical_account_id, "
        "scopes, created_at, secret_rotated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {c.client_id, c.org_id, c.project_id, c.type, c.name, c.secret_hash, c.technical_account_id,
         ToJsonArray(c.scopes), c.created_at, c.secret_rotated_at});
    PORTICO_RETURN_IF_ERROR(r.status());
    for (const auto& cert : c.certificates) {
      PORTICO_RETURN_IF_ERROR(
          s.Execute("INSERT INTO certificates (client_id, fingerprint, pem, not_after, added_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    {c.client_id, cert.fingerprint, cert.pem, cert.not_after, cert.added_at})
              .status());
    }
    return Status::Ok();
  });
}

StatusOr<std::vector<CertificateRecord>> ImsStore::Certificates(store::SqlSession* s,
                                                                const std::string& client_id) {
  const char* sql =
      "SELECT fingerprint, pem, not_after, added_at FROM certificates WHERE client_id = $1 ORDER "
      "BY added_at, fingerprint";
  PORTICO_ASSIGN_OR_RETURN(auto r,
                           s ? s->Execute(sql, {client_id}) : db_.Execute(sql, {client_id}));
  std::vector<CertificateRecord> out;
  for (const auto& row : r) out.push_back({row.Text(0), row.Text(1), row.Int(2), row.Int(3)});
  return out;
}

StatusOr<CredentialRecord> ImsStore::GetCredential(const std::string& client_id) {
  std::optional<CredentialRecord> out;
  PORTICO_RETURN_IF_ERROR(db_.ReadTransaction([&](store::SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(auto r, s.Execute(std::string("SELECT ") + kCredentialColumns +
                                                   " FROM credentials WHERE client_id = $1",
                                               {client_id}));
    if (r.empty()) return Status::Ok();
    out = CredentialFrom(r[0]);
    PORTICO_ASSIGN_OR_RETURN(out->certificates, Certificates(&s, client_id));
    return Status::Ok();
  }));
  if (!out) return NotFound("no such client");
  return std::move(*out);
}

StatusOr<std::vector<CredentialRecord>> ImsStore::ListCredentials(
    const std::string& org_id, const std::optional<std::string>& project_id) {
  std::vector<CredentialRecord> out;
  PORTICO_RETURN_IF_ERROR(db_.ReadTransaction([&](store::SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(
        auto r,
        s.Execute(std::string("SELECT ") + kCredentialColumns +
                      " FROM credentials WHERE org_id = $1 AND ($2 IS NULL OR project_id = $2) "
                      "ORDER BY created_at, client_id",
                  {org_id, project_id}));
    for (const auto& row : r) {
      out.push_back(CredentialFrom(row));
      PORTICO_ASSIGN_OR_RETURN(out.back().certificates, Certificates(&s, out.back().client_id));
    }
    return Status::Ok();
  }));
  return out;
}

Status ImsStore::DeleteCredential(const std::string& org_id, const std::string& client_id) {
  CredentialChange change{credential_generation_};
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("DELETE FROM credentials WHERE org_id = $1 AND client_id = $2",
                          {org_id, client_id}));
  if (r.rows_affected == 0) return NotFound("no such credential in this org");
  return Status::Ok();
}

Status ImsStore::UpdateSecretHash(const std::string& client_id, const std::string& secret_hash,
                                  int64_t at) {
  CredentialChange change{credential_generation_};
  return db_
      .Execute(
          "UPDATE credentials SET secret_hash = $2, secret_rotated_at = $3 WHERE client_id = $1",
          {client_id, secret_hash, at})
      .status();
}

Status ImsStore::AddCertificate(const std::string& client_id, const CertificateRecord& c) {
  CredentialChange change{credential_generation_};
  auto r = db_.Execute(
      "INSERT INTO certificates (client_id, fingerprint, pem, not_after, added_at) VALUES ($1, $2, "
      "$3, $4, $5)",
      {client_id, c.fingerprint, c.pem, c.not_after, c.added_at});
  if (r.status().code() == Code::kConflict)
    return Conflict("this certificate is already registered on the credential");
  return r.status();
}

Status ImsStore::RemoveCertificate(const std::string& client_id, const std::string& fingerprint) {
  CredentialChange change{credential_generation_};
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("DELETE FROM certificates WHERE client_id = $1 AND fingerprint = $2",
                          {client_id, fingerprint}));
  if (r.rows_affected == 0)
    return NotFound("no certificate with this fingerprint on the credential");
  return Status::Ok();
}

StatusOr<std::vector<SigningKeyRecord>> ImsStore::ListSigningKeys() {
  PORTICO_ASSIGN_OR_RETURN(auto r,
                           db_.Execute("SELECT kid, private_key, public_jwk, created_at, "
                                       "retired_at FROM signing_keys ORDER BY created_at, kid"));
  std::vector<SigningKeyRecord> out;
  for (const auto& row : r) {
    out.push_back({row.Text(0), row.Blob(1), row.Text(2), row.Int(3), row.OptionalInt(4)});
  }
  return out;
}

Status ImsStore::InsertSigningKey(const SigningKeyRecord& k) {
  return db_
      .Execute(
          "INSERT INTO signing_keys (kid, private_key, public_jwk, created_at, retired_at) VALUES "
          "($1, $2, $3, $4, $5)",
          {k.kid, SqlBlob{k.sealed_private_key}, k.public_jwk, k.created_at, k.retired_at})
      .status();
}

Status ImsStore::RetireSigningKeys(int64_t at) {
  return db_.Execute("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL", {at})
      .status();
}

Status ImsStore::DeleteSigningKey(const std::string& kid) {
  return db_.Execute("DELETE FROM signing_keys WHERE kid = $1", {kid}).status();
}

Status ImsStore::RecordJti(const std::string& client_id, const std::string& jti, int64_t expires_at,
                           int64_t now) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute("INSERT INTO used_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) "
                  "ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at "
                  "WHERE used_jtis.expires_at < $4 RETURNING expires_at",
                  {client_id, jti, expires_at, now}));
  if (r.empty()) return Conflict("jti already used");
  return Status::Ok();
}

Status ImsStore::WriteJtis(const std::vector<JtiRecord>& records) {
  if (records.empty()) return Status::Ok();
  return db_.Transaction([&](store::SqlSession& s) -> Status {
    for (const auto& r : records) {
      PORTICO_RETURN_IF_ERROR(
          s.Execute("INSERT INTO jti_log (client_id, jti, expires_at) VALUES ($1, $2, $3)",
                    {r.client_id, r.jti, r.expires_at})
              .status());
    }
    return Status::Ok();
  });
}

Status ImsStore::IndexJtiLog(int64_t now) {
  return db_.Transaction([&](store::SqlSession& s) -> Status {
    PORTICO_RETURN_IF_ERROR(
        s.Execute("INSERT INTO used_jtis (client_id, jti, expires_at) "
                  "SELECT client_id, jti, max(expires_at) FROM jti_log WHERE expires_at >= $1 "
                  "GROUP BY client_id, jti "
                  "ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = CASE WHEN "
                  "used_jtis.expires_at < excluded.expires_at THEN excluded.expires_at ELSE "
                  "used_jtis.expires_at END",
                  {now})
            .status());
    return s.Execute("DELETE FROM jti_log", {}).status();
  });
}

StatusOr<std::vector<JtiRecord>> ImsStore::LoadJtis(int64_t now, size_t limit) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("SELECT client_id, jti, expires_at FROM jti_log WHERE expires_at >= $1 "
                          "UNION ALL "
                          "SELECT client_id, jti, expires_at FROM used_jtis WHERE expires_at >= $1 "
                          "LIMIT $2",
                          {now, static_cast<int64_t>(limit)}));
  std::vector<JtiRecord> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    out.push_back({row.Text(0), row.Text(1), row.Int(2)});
  }
  return out;
}

StatusOr<int64_t> ImsStore::PruneJtis(int64_t now) {
  int64_t removed = 0;
  PORTICO_RETURN_IF_ERROR(db_.Transaction([&](store::SqlSession& s) -> Status {
    for (const char* sql : {"DELETE FROM jti_log WHERE expires_at < $1",
                            "DELETE FROM used_jtis WHERE expires_at < $1"}) {
      PORTICO_ASSIGN_OR_RETURN(auto r, s.Execute(sql, {now}));
      removed += r.rows_affected;
    }
    return Status::Ok();
  }));
  return removed;
}

}  // namespace portico::ims

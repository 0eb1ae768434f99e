#include "author/store/author_store.h"

#include <array>

#include "core/crypto/random.h"
#include "protocol/dam_path.h"

namespace portico::author {
namespace {

using store::Migration;
using store::SqlBlob;
using store::SqlRow;
using store::SqlSession;

const std::array<Migration, 1> kMigrations = {Migration{1, "initial",
                                                        R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
INSERT INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE folders (
  path TEXT PRIMARY KEY, parent TEXT NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL,
  seq INTEGER NOT NULL, created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL) STRICT;
CREATE INDEX folders_parent ON folders (parent, name);
CREATE TABLE assets (
  path TEXT PRIMARY KEY, parent TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,
  version INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, seq INTEGER NOT NULL,
  created_at INTEGER NOT NULL, modified_at INTEGER NOT NULL) STRICT;
CREATE INDEX assets_parent ON assets (parent, name);
CREATE TABLE asset_versions (
  path TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  seq INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (path, version)) STRICT;
CREATE TABLE ims_config (
  id INTEGER PRIMARY KEY CHECK (id = 1), alias TEXT NOT NULL, solution TEXT NOT NULL,
  certificate_pem TEXT NOT NULL, sealed_private_key BLOB NOT NULL,
  key_generation INTEGER NOT NULL, title TEXT NOT NULL, authorization_server TEXT NOT NULL,
  client_id TEXT NOT NULL, sealed_client_secret BLOB NOT NULL, jwt_payload TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
CREATE TABLE cloud_service (
  id INTEGER PRIMARY KEY CHECK (id = 1), title TEXT NOT NULL, tenant_url TEXT NOT NULL,
  tenant TEXT NOT NULL, org TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;
CREATE TABLE agents (
  name TEXT PRIMARY KEY, state TEXT NOT NULL, last_test_at INTEGER, last_test_ok INTEGER,
  last_test_message TEXT NOT NULL) STRICT;
)sql",
                                                        R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE folders (
  path TEXT PRIMARY KEY, parent TEXT NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL,
  seq BIGINT NOT NULL, created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL);
CREATE INDEX folders_parent ON folders (parent, name COLLATE "C");
CREATE TABLE assets (
  path TEXT PRIMARY KEY, parent TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,
  version BIGINT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL, seq BIGINT NOT NULL,
  created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL);
CREATE INDEX assets_parent ON assets (parent, name COLLATE "C");
CREATE TABLE asset_versions (
  path TEXT NOT NULL, version BIGINT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL,
  seq BIGINT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (path, version));
CREATE TABLE ims_config (
  id INTEGER PRIMARY KEY CHECK (id = 1), alias TEXT NOT NULL, solution TEXT NOT NULL,
  certificate_pem TEXT NOT NULL, sealed_private_key BYTEA NOT NULL,
  key_generation BIGINT NOT NULL, title TEXT NOT NULL, authorization_server TEXT NOT NULL,
  client_id TEXT NOT NULL, sealed_client_secret BYTEA NOT NULL, jwt_payload TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE cloud_service (
  id INTEGER PRIMARY KEY CHECK (id = 1), title TEXT NOT NULL, tenant_url TEXT NOT NULL,
  tenant TEXT NOT NULL, org TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE agents (
  name TEXT PRIMARY KEY, state TEXT NOT NULL, last_test_at BIGINT, last_test_ok BIGINT,
  last_test_message TEXT NOT NULL);
)sql"}};

StatusOr<int64_t> NextSeq(SqlSession& s) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      s.Execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value"));
  if (r.empty()) return Internal("the seq counter is missing");
  return r[0].Int(0);
}

// Whether the folder `path` exists ("/content/dam" always does).
StatusOr<bool> FolderExistsIn(SqlSession& s, const std::string& path) {
  if (path == protocol::kDamRoot) return true;
  PORTICO_ASSIGN_OR_RETURN(auto r, s.Execute("SELECT 1 FROM folders WHERE path = $1", {path}));
  return !r.empty();
}

StatusOr<bool> AssetExistsIn(SqlSession& s, const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(auto r, s.Execute("SELECT 1 FROM assets WHERE path = $1", {path}));
  return !r.empty();
}

Status ParentMustExist(SqlSession& s, const std::string& path) {
  std::string parent = protocol::DamParent(path);
  PORTICO_ASSIGN_OR_RETURN(bool ok, FolderExistsIn(s, parent));
  if (!ok) {
    return Status(Code::kNotFound, "parent_not_found",
                  "the parent folder " + parent + " does not exist");
  }
  return Status::Ok();
}

FolderRecord FolderFrom(const SqlRow& r) {
  return {r.Text("path"), r.Text("title"), r.Int("seq"), r.Int("created_at"), r.Int("modified_at")};
}

AssetRecord AssetFrom(const SqlRow& r) {
  AssetRecord a;
  a.path = r.Text("path");
  a.content_type = r.Text("content_type");
  a.version = r.Int("version");
  a.sha256 = r.Text("sha256");
  a.size = r.Int("size");
  a.seq = r.Int("seq");
  a.created_at = r.Int("created_at");
  a.modified_at = r.Int("modified_at");
  return a;
}

constexpr const char* kAssetColumns =
    "path, content_type, version, sha256, size, seq, created_at, modified_at";

}  // namespace

StatusOr<std::unique_ptr<AuthorStore>> AuthorStore::Open(store::SqlDatabase& db) {
  PORTICO_RETURN_IF_ERROR(db.Migrate("author", kMigrations));
  return std::unique_ptr<AuthorStore>(new AuthorStore(db));
}

StatusOr<std::string> AuthorStore::AuthorId() {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT value FROM meta WHERE key = 'author_id'"));
  if (!r.empty()) return r[0].Text(0);
  PORTICO_RETURN_IF_ERROR(
      db_.Execute("INSERT INTO meta (key, value) VALUES ('author_id', $1) ON CONFLICT DO NOTHING",
                  {"author-" + crypto::RandomHex(16)})
          .status());
  PORTICO_ASSIGN_OR_RETURN(r, db_.Execute("SELECT value FROM meta WHERE key = 'author_id'"));
  if (r.empty()) return Internal("the author id could not be stored");
  return r[0].Text(0);
}

StatusOr<int64_t> AuthorStore::CurrentSeq() {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT value FROM counters WHERE name = 'seq'"));
  if (r.empty()) return Internal("the seq counter is missing");
  return r[0].Int(0);
}

StatusOr<bool> AuthorStore::FolderExists(const std::string& path) {
  if (path == protocol::kDamRoot) return true;
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT 1 FROM folders WHERE path = $1", {path}));
  return !r.empty();
}

StatusOr<FolderRecord> AuthorStore::CreateFolder(const std::string& path, int64_t now) {
  FolderRecord out;
  Status st = db_.Transaction([&](SqlSession& s) -> Status {
    PORTICO_RETURN_IF_ERROR(ParentMustExist(s, path));
    PORTICO_ASSIGN_OR_RETURN(bool folder, FolderExistsIn(s, path));
    if (folder) return Status(Code::kConflict, "folder_exists", "the folder " + path + " exists");
    PORTICO_ASSIGN_OR_RETURN(bool asset, AssetExistsIn(s, path));
    if (asset) return Status(Code::kConflict, "asset_exists", "an asset has the path " + path);
    PORTICO_ASSIGN_OR_RETURN(int64_t seq, NextSeq(s));
    std::string name(protocol::DamName(path));
    PORTICO_ASSIGN_OR_RETURN(
        auto r, s.Execute("INSERT INTO folders (path, parent, name, title, seq, created_at, "
                          "modified_at) VALUES ($1, $2, $3, $3, $4, $5, $5) RETURNING path, "
                          "title, seq, created_at, modified_at",
                          {path, protocol::DamParent(path), name, seq, now}));
    out = FolderFrom(r[0]);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

StatusOr<FolderRecord> AuthorStore::GetFolder(const std::string& path) {
  if (path == protocol::kDamRoot) return FolderRecord{path, "dam", 0, 0, 0};
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute("SELECT path, title, seq, created_at, modified_at FROM folders WHERE path = $1",
                  {path}));
  if (r.empty()) return Status(Code::kNotFound, "not_found", "no folder " + path);
  return FolderFrom(r[0]);
}

StatusOr<std::vector<ChildRecord>> AuthorStore::ListChildren(const std::string& folder,
                                                             const ListCursor& cursor, int limit) {
  std::vector<ChildRecord> out;
  const int64_t want = static_cast<int64_t>(limit) + 1;
  Status st = db_.ReadTransaction([&](SqlSession& s) -> Status {
    if (!cursor.in_assets) {
      PORTICO_ASSIGN_OR_RETURN(
          auto r, s.Execute("SELECT path, name, seq, modified_at FROM folders WHERE parent = $1 "
                            "AND name > $2 ORDER BY name LIMIT $3",
                            {folder, cursor.after_name, want}));
      for (const auto& row : r) {
        ChildRecord c;
        c.is_folder = true;
        c.path = row.Text("path");
        c.name = row.Text("name");
        c.seq = row.Int("seq");
        c.modified_at = row.Int("modified_at");
        out.push_back(std::move(c));
      }
    }
    if (static_cast<int64_t>(out.size()) >= want) return Status::Ok();
    std::string after = cursor.in_assets ? cursor.after_name : std::string();
    PORTICO_ASSIGN_OR_RETURN(
        auto r, s.Execute("SELECT path, name, size, sha256, version, seq, modified_at FROM assets "
                          "WHERE parent = $1 AND name > $2 ORDER BY name LIMIT $3",
                          {folder, after, want - static_cast<int64_t>(out.size())}));
    for (const auto& row : r) {
      ChildRecord c;
      c.path = row.Text("path");
      c.name = row.Text("name");
      c.size = row.Int("size");
      c.sha256 = row.Text("sha256");
      c.version = row.Int("version");
      c.seq = row.Int("seq");
      c.modified_at = row.Int("modified_at");
      out.push_back(std::move(c));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Status AuthorStore::ListSubtree(const std::string& folder, std::vector<FolderRecord>* folders,
                                std::vector<AssetRecord>* assets) {
  // Paths below `folder` are exactly those in [folder + "/", folder + "0"): '0' follows '/' in
  // byte order, and the range uses the paths' primary key index.
  const std::string low = folder + "/";
  const std::string high = folder + "0";
  const bool postgres = db_.dialect() == "postgres";
  const std::string collate = postgres ? " COLLATE \"C\"" : "";
  return db_.ReadTransaction([&](SqlSession& s) -> Status {
    folders->clear();
    assets->clear();
    PORTICO_ASSIGN_OR_RETURN(
        auto f,
        s.Execute("SELECT path, title, seq, created_at, modified_at FROM folders WHERE "
                  "path" +
                      collate + " >= $1 AND path" + collate + " < $2 ORDER BY path" + collate,
                  {low, high}));
    folders->reserve(f.size());
    for (const auto& row : f) folders->push_back(FolderFrom(row));
    PORTICO_ASSIGN_OR_RETURN(
        auto a,
        s.Execute(std::string("SELECT ") + kAssetColumns + " FROM assets WHERE path" + collate +
                      " >= $1 AND path" + collate + " < $2 ORDER BY path" + collate,
                  {low, high}));
    assets->reserve(a.size());
    for (const auto& row : a) assets->push_back(AssetFrom(row));
    return Status::Ok();
  });
}

StatusOr<AssetRecord> AuthorStore::AddAssetVersion(const std::string& path,
                                                   const std::string& sha256, int64_t size,
                                                   const std::string& content_type, int64_t now) {
  AssetRecord out;
  Status st = db_.Transaction([&](SqlSession& s) -> Status {
    PORTICO_RETURN_IF_ERROR(ParentMustExist(s, path));
    PORTICO_ASSIGN_OR_RETURN(bool folder, FolderExistsIn(s, path));
    if (folder) {
      return Status(Code::kConflict, "folder_exists",
                    "a folder has the path " + path + ": an asset cannot replace it");
    }
    PORTICO_ASSIGN_OR_RETURN(int64_t seq, NextSeq(s));
    PORTICO_ASSIGN_OR_RETURN(
        auto cur, s.Execute("SELECT version, created_at FROM assets WHERE path = $1", {path}));
    int64_t version = cur.empty() ? 1 : cur[0].Int(0) + 1;
    int64_t created = cur.empty() ? now : cur[0].Int(1);
    PORTICO_RETURN_IF_ERROR(
        s.Execute("INSERT INTO asset_versions (path, version, sha256, size, seq, created_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6)",
                  {path, version, sha256, size, seq, now})
            .status());
    PORTICO_ASSIGN_OR_RETURN(
        auto r,
        s.Execute(std::string("INSERT INTO assets (path, parent, name, content_type, version, "
                              "sha256, size, seq, created_at, modified_at) VALUES ($1, $2, $3, "
                              "$4, $5, $6, $7, $8, $9, $10) ON CONFLICT (path) DO UPDATE SET "
                              "content_type = $4, version = $5, sha256 = $6, size = $7, seq = $8, "
                              "modified_at = $10 RETURNING ") +
                      kAssetColumns,
                  {path, protocol::DamParent(path), std::string(protocol::DamName(path)),
                   content_type, version, sha256, size, seq, created, now}));
    out = AssetFrom(r[0]);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

StatusOr<AssetRecord> AuthorStore::GetAsset(const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute(std::string("SELECT ") + kAssetColumns + " FROM assets WHERE path = $1", {path}));
  if (r.empty()) return Status(Code::kNotFound, "not_found", "no asset " + path);
  return AssetFrom(r[0]);
}

StatusOr<std::vector<AssetVersionRecord>> AuthorStore::ListVersions(const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("SELECT version, sha256, size, seq, created_at FROM asset_versions "
                          "WHERE path = $1 ORDER BY version",
                          {path}));
  std::vector<AssetVersionRecord> out;
  for (const auto& row : r) {
    out.push_back({row.Int("version"), row.Text("sha256"), row.Int("size"), row.Int("seq"),
                   row.Int("created_at")});
  }
  return out;
}

// --- IMS configuration

namespace {
ImsConfigRecord ImsFrom(const SqlRow& r) {
  ImsConfigRecord c;
  c.alias = r.Text("alias");
  c.solution = r.Text("solution");
  c.certificate_pem = r.Text("certificate_pem");
  c.sealed_private_key = r.Blob("sealed_private_key");
  c.key_generation = r.Int("key_generation");
  c.title = r.Text("title");
  c.authorization_server = r.Text("authorization_server");
  c.client_id = r.Text("client_id");
  c.sealed_client_secret = r.Blob("sealed_client_secret");
  c.jwt_payload = r.Text("jwt_payload");
  c.created_at = r.Int("created_at");
  c.updated_at = r.Int("updated_at");
  return c;
}

store::SqlParams ImsParams(const ImsConfigRecord& c) {
  return {c.alias,
          c.solution,
          c.certificate_pem,
          SqlBlob{c.sealed_private_key},
          c.key_generation,
          c.title,
          c.authorization_server,
          c.client_id,
          SqlBlob{c.sealed_client_secret},
          c.jwt_payload,
          c.created_at,
          c.updated_at};
}
}  // namespace

Status AuthorStore::InsertImsConfig(const ImsConfigRecord& c) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("INSERT INTO ims_config (id, alias, solution, certificate_pem, "
                          "sealed_private_key, key_generation, title, authorization_server, "
                          "client_id, sealed_client_secret, jwt_payload, created_at, updated_at) "
                          "VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                          "ON CONFLICT DO NOTHING",
                          ImsParams(c)));
  if (r.rows_affected == 0) {
    auto existing = GetImsConfig();
    std::string alias = existing.ok() ? existing->alias : std::string("?");
    return Status(Code::kConflict, "ims_config_exists",
                  "this author already has an IMS configuration (alias '" + alias +
                      "'); an author has only one: delete it before creating another");
  }
  return Status::Ok();
}

StatusOr<ImsConfigRecord> AuthorStore::GetImsConfig() {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT * FROM ims_config WHERE id = 1"));
  if (r.empty()) {
    return Status(Code::kNotFound, "no_ims_config",
                  "this author has no IMS configuration: create one first");
  }
  return ImsFrom(r[0]);
}

Status AuthorStore::UpdateImsConfig(const ImsConfigRecord& c) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("UPDATE ims_config SET alias = $1, solution = $2, certificate_pem = $3, "
                          "sealed_private_key = $4, key_generation = $5, title = $6, "
                          "authorization_server = $7, client_id = $8, sealed_client_secret = $9, "
                          "jwt_payload = $10, created_at = $11, updated_at = $12 WHERE id = 1",
                          ImsParams(c)));
  if (r.rows_affected == 0) {
    return Status(Code::kNotFound, "no_ims_config", "this author has no IMS configuration");
  }
  return Status::Ok();
}

Status AuthorStore::DeleteImsConfig() {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("DELETE FROM ims_config WHERE id = 1"));
  if (r.rows_affected == 0) {
    return Status(Code::kNotFound, "no_ims_config", "this author has no IMS configuration");
  }
  return Status::Ok();
}

// --- cloud service and agents

Status AuthorStore::InsertCloudService(const CloudServiceRecord& c,
                                       const std::vector<std::string>& agent_names) {
  return db_.Transaction([&](SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(auto existing, s.Execute("SELECT tenant_url FROM cloud_service"));
    if (!existing.empty()) {
      return Status(Code::kConflict, "cloud_service_exists",
                    "this author already has a portal cloud service (" + existing[0].Text(0) +
                        "); an author is bound to one tenant");
    }
    PORTICO_RETURN_IF_ERROR(
        s.Execute("INSERT INTO cloud_service (id, title, tenant_url, tenant, org, created_at) "
                  "VALUES (1, $1, $2, $3, $4, $5)",
                  {c.title, c.tenant_url, c.tenant, c.org, c.created_at})
            .status());
    for (const auto& name : agent_names) {
      PORTICO_RETURN_IF_ERROR(s.Execute("INSERT INTO agents (name, state, last_test_message) "
                                        "VALUES ($1, 'idle', '') ON CONFLICT DO NOTHING",
                                        {name})
                                  .status());
    }
    return Status::Ok();
  });
}

StatusOr<CloudServiceRecord> AuthorStore::GetCloudService() {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT * FROM cloud_service WHERE id = 1"));
  if (r.empty()) {
    return Status(Code::kNotFound, "no_cloud_service",
                  "this author has no portal cloud service: create one first");
  }
  return CloudServiceRecord{r[0].Text("title"), r[0].Text("tenant_url"), r[0].Text("tenant"),
                            r[0].Text("org"), r[0].Int("created_at")};
}

namespace {
AgentRecord AgentFrom(const SqlRow& r) {
  AgentRecord a;
  a.name = r.Text("name");
  a.state = r.Text("state");
  a.last_test_at = r.OptionalInt("last_test_at");
  if (auto ok = r.OptionalInt("last_test_ok")) a.last_test_ok = *ok != 0;
  a.last_test_message = r.Text("last_test_message");
  return a;
}
}  // namespace

StatusOr<std::vector<AgentRecord>> AuthorStore::ListAgents() {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT * FROM agents ORDER BY name"));
  std::vector<AgentRecord> out;
  for (const auto& row : r) out.push_back(AgentFrom(row));
  return out;
}

StatusOr<AgentRecord> AuthorStore::GetAgent(const std::string& name) {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute("SELECT * FROM agents WHERE name = $1", {name}));
  if (r.empty()) return Status(Code::kNotFound, "not_found", "no agent named " + name);
  return AgentFrom(r[0]);
}

Status AuthorStore::RecordAgentTest(const std::string& name, int64_t at, bool ok,
                                    const std::string& message) {
  return db_
      .Execute(
          "UPDATE agents SET last_test_at = $2, last_test_ok = $3, last_test_message = $4 "
          "WHERE name = $1",
          {name, at, ok ? 1 : 0, message})
      .status();
}

}  // namespace portico::author

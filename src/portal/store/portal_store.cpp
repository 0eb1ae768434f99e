#include "portal/store/portal_store.h"

#include <algorithm>
#include <array>

namespace portico::portal {
namespace {

using store::Migration;
using store::SqlRow;

// kind: 0 folder, 1 asset, so "ORDER BY kind, name" lists folders first.
const std::array<Migration, 2> kMigrations = {
    Migration{1, "initial",
              R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY, org TEXT NOT NULL UNIQUE, alias TEXT UNIQUE,
  bound_author_id TEXT, bound_author_url TEXT, bound_at INTEGER,
  created_at INTEGER NOT NULL) STRICT;
CREATE TABLE entries (
  tenant TEXT NOT NULL REFERENCES tenants(id), path TEXT NOT NULL, parent TEXT NOT NULL,
  name TEXT NOT NULL, kind INTEGER NOT NULL, title TEXT NOT NULL, sha256 TEXT NOT NULL,
  size INTEGER NOT NULL, content_type TEXT NOT NULL, version INTEGER NOT NULL,
  modified_at INTEGER NOT NULL, published_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, path)) STRICT;
CREATE INDEX entries_children ON entries (tenant, parent, kind, name);
CREATE TABLE path_seqs (
  tenant TEXT NOT NULL, path TEXT NOT NULL, seq INTEGER NOT NULL, deleted INTEGER NOT NULL,
  PRIMARY KEY (tenant, path)) STRICT;
CREATE TABLE commits (
  tenant TEXT NOT NULL, idempotency_key TEXT NOT NULL, request_digest TEXT NOT NULL,
  response TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, idempotency_key)) STRICT;
CREATE TABLE blobs (
  tenant TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, sha256)) STRICT;
)sql",
              R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY, org TEXT NOT NULL UNIQUE, alias TEXT UNIQUE,
  bound_author_id TEXT, bound_author_url TEXT, bound_at BIGINT,
  created_at BIGINT NOT NULL);
CREATE TABLE entries (
  tenant TEXT NOT NULL REFERENCES tenants(id), path TEXT NOT NULL, parent TEXT NOT NULL,
  name TEXT NOT NULL, kind INTEGER NOT NULL, title TEXT NOT NULL, sha256 TEXT NOT NULL,
  size BIGINT NOT NULL, content_type TEXT NOT NULL, version BIGINT NOT NULL,
  modified_at BIGINT NOT NULL, published_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, path));
CREATE INDEX entries_children ON entries (tenant, parent, kind, name COLLATE "C");
CREATE TABLE path_seqs (
  tenant TEXT NOT NULL, path TEXT NOT NULL, seq BIGINT NOT NULL, deleted INTEGER NOT NULL,
  PRIMARY KEY (tenant, path));
CREATE TABLE commits (
  tenant TEXT NOT NULL, idempotency_key TEXT NOT NULL, request_digest TEXT NOT NULL,
  response TEXT NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, idempotency_key));
CREATE TABLE blobs (
  tenant TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, sha256));
)sql"},
    // synced: 0 while the blob's file may still be lost by a power cut (written without fsync);
    // the first commit naming it syncs it and sets 1. Rows from before are durable.
    Migration{2, "blobs_synced", "ALTER TABLE blobs ADD COLUMN synced INTEGER NOT NULL DEFAULT 1;",
              "ALTER TABLE blobs ADD COLUMN synced INTEGER NOT NULL DEFAULT 1;"}};

constexpr const char* kEntryColumns =
    "path, parent, name, kind, title, sha256, size, content_type, version, modified_at, "
    "published_at";
constexpr const char* kTenantColumns =
    "id, org, alias, bound_author_id, bound_author_url, bound_at, created_at";

EntryRecord EntryFrom(const SqlRow& r) {
  EntryRecord e;
  e.path = r.Text("path");
  e.parent = r.Text("parent");
  e.name = r.Text("name");
  e.type = r.Int("kind") == 0 ? EntryType::kFolder : EntryType::kAsset;
  e.title = r.Text("title");
  e.sha256 = r.Text("sha256");
  e.size = r.Int("size");
  e.content_type = r.Text("content_type");
  e.version = r.Int("version");
  e.modified_at = r.Int("modified_at");
  e.published_at = r.Int("published_at");
  return e;
}

TenantRecord TenantFrom(const SqlRow& r) {
  TenantRecord t;
  t.id = r.Text("id");
  t.org = r.Text("org");
  t.alias = r.OptionalText("alias").value_or("");
  t.bound_author_id = r.OptionalText("bound_author_id").value_or("");
  t.bound_author_url = r.OptionalText("bound_author_url").value_or("");
  t.bound_at = r.OptionalInt("bound_at").value_or(0);
  t.created_at = r.Int("created_at");
  return t;
}

int KindOf(EntryType t) { return t == EntryType::kFolder ? 0 : 1; }

std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

std::string_view EntryTypeName(EntryType type) {
  return type == EntryType::kFolder ? "folder" : "asset";
}

// --- PortalTx --------------------------------------------------------------------------------

StatusOr<std::optional<EntryRecord>> PortalTx::GetEntry(const std::string& tenant,
                                                        const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(auto r, s_.Execute(std::string("SELECT ") + kEntryColumns +
                                                  " FROM entries WHERE tenant = $1 AND path = $2",
                                              {tenant, path}));
  if (r.empty()) return std::optional<EntryRecord>();
  return std::optional<EntryRecord>(EntryFrom(r[0]));
}

Status PortalTx::PutEntry(const std::string& tenant, const EntryRecord& e) {
  return s_
      .Execute(
          "INSERT INTO entries (tenant, path, parent, name, kind, title, sha256, size, "
          "content_type, version, modified_at, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
          "$8, $9, $10, $11, $12) ON CONFLICT (tenant, path) DO UPDATE SET parent = $3, name = "
          "$4, kind = $5, title = $6, sha256 = $7, size = $8, content_type = $9, version = $10, "
          "modified_at = $11, published_at = $12",
          {tenant, e.path, e.parent, e.name, KindOf(e.type), e.title, e.sha256, e.size,
           e.content_type, e.version, e.modified_at, e.published_at})
      .status();
}

StatusOr<int64_t> PortalTx::DeleteSubtree(const std::string& tenant, const std::string& path) {
  // Descendants are the paths that start with "<path>/" (substr/length are portable).
  PORTICO_ASSIGN_OR_RETURN(auto r,
                           s_.Execute("DELETE FROM entries WHERE tenant = $1 AND (path = $2 OR "
                                      "substr(path, 1, length($2) + 1) = $2 || '/')",
                                      {tenant, path}));
  return r.rows_affected;
}

StatusOr<std::optional<PathSeq>> PortalTx::GetSeq(const std::string& tenant,
                                                  const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, s_.Execute("SELECT seq, deleted FROM path_seqs WHERE tenant = $1 AND path = $2",
                         {tenant, path}));
  if (r.empty()) return std::optional<PathSeq>();
  return std::optional<PathSeq>(PathSeq{r[0].Int(0), r[0].Int(1) != 0});
}

Status PortalTx::PutSeq(const std::string& tenant, const std::string& path, const PathSeq& seq) {
  return s_
      .Execute(
          "INSERT INTO path_seqs (tenant, path, seq, deleted) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (tenant, path) DO UPDATE SET seq = $3, deleted = $4",
          {tenant, path, seq.seq, seq.deleted ? 1 : 0})
      .status();
}

StatusOr<std::optional<CommitRecord>> PortalTx::GetCommit(const std::string& tenant,
                                                          const std::string& key) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, s_.Execute("SELECT request_digest, response FROM commits WHERE tenant = $1 AND "
                         "idempotency_key = $2",
                         {tenant, key}));
  if (r.empty()) return std::optional<CommitRecord>();
  return std::optional<CommitRecord>(CommitRecord{r[0].Text(0), r[0].Text(1)});
}

Status PortalTx::PutCommit(const std::string& tenant, const std::string& key, const CommitRecord& c,
                           int64_t now) {
  return s_
      .Execute(
          "INSERT INTO commits (tenant, idempotency_key, request_digest, response, created_at) "
          "VALUES ($1, $2, $3, $4, $5)",
          {tenant, key, c.request_digest, c.response_json, now})
      .status();
}

StatusOr<std::optional<int64_t>> PortalTx::BlobSize(const std::string& tenant,
                                                    const std::string& sha256) {
  PORTICO_ASSIGN_OR_RETURN(auto b, GetBlob(tenant, sha256));
  if (!b) return std::optional<int64_t>();
  return std::optional<int64_t>(b->size);
}

StatusOr<std::optional<BlobRecord>> PortalTx::GetBlob(const std::string& tenant,
                                                      const std::string& sha256) {
  PORTICO_ASSIGN_OR_RETURN(auto r, s_.Execute("SELECT size, synced FROM blobs WHERE tenant = $1 "
                                              "AND sha256 = $2",
                                              {tenant, sha256}));
  if (r.empty()) return std::optional<BlobRecord>();
  return std::optional<BlobRecord>(BlobRecord{r[0].Int(0), r[0].Int(1) != 0});
}

Status PortalTx::MarkBlobSynced(const std::string& tenant, const std::string& sha256) {
  return s_
      .Execute("UPDATE blobs SET synced = 1 WHERE tenant = $1 AND sha256 = $2 AND synced = 0",
               {tenant, sha256})
      .status();
}

// --- PortalStore -----------------------------------------------------------------------------

StatusOr<std::unique_ptr<PortalStore>> PortalStore::Open(store::SqlDatabase& db) {
  PORTICO_RETURN_IF_ERROR(db.Migrate("portal", kMigrations));
  return std::unique_ptr<PortalStore>(new PortalStore(db));
}

Status PortalStore::CreateTenant(const TenantRecord& t) {
  return db_.Transaction([&](store::SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(auto org, s.Execute("SELECT id FROM tenants WHERE org = $1", {t.org}));
    if (!org.empty()) {
      return Status(
          Code::kConflict, "org_has_tenant",
          "this org already has the tenant '" + org[0].Text(0) + "'; an org has one tenant");
    }
    // A name is taken whether it is used as an id or as an alias.
    std::vector<std::string> names = {t.id};
    if (!t.alias.empty()) names.push_back(t.alias);
    for (const auto& name : names) {
      PORTICO_ASSIGN_OR_RETURN(
          auto r, s.Execute("SELECT id FROM tenants WHERE id = $1 OR alias = $1", {name}));
      if (!r.empty()) {
        return Status(Code::kConflict, "tenant_exists", "the tenant name '" + name + "' is taken");
      }
    }
    return s
        .Execute("INSERT INTO tenants (id, org, alias, created_at) VALUES ($1, $2, $3, $4)",
                 {t.id, t.org, NullIfEmpty(t.alias), t.created_at})
        .status();
  });
}

StatusOr<TenantRecord> PortalStore::FindTenant(const std::string& name) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute(std::string("SELECT ") + kTenantColumns +
                              " FROM tenants WHERE id = $1 OR alias = $1 ORDER BY (id = $1) DESC",
                          {name}));
  if (r.empty()) return NotFound("no such tenant");
  return TenantFrom(r[0]);
}

StatusOr<TenantRecord> PortalStore::BindAuthor(const std::string& tenant,
                                               const std::string& author_id,
                                               const std::string& author_url, int64_t now) {
  PORTICO_RETURN_IF_ERROR(
      db_.Execute("UPDATE tenants SET bound_author_id = $2, bound_author_url = $3, bound_at = $4 "
                  "WHERE id = $1 AND bound_author_id IS NULL",
                  {tenant, author_id, author_url, now})
          .status());
  // A later handshake of the bound author refreshes its URL.
  PORTICO_RETURN_IF_ERROR(
      db_.Execute("UPDATE tenants SET bound_author_url = $3 WHERE id = $1 AND bound_author_id = $2",
                  {tenant, author_id, author_url})
          .status());
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE id = $1",
                          {tenant}));
  if (r.empty()) return NotFound("no such tenant");
  return TenantFrom(r[0]);
}

StatusOr<std::optional<EntryRecord>> PortalStore::GetEntry(const std::string& tenant,
                                                           const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute(std::string("SELECT ") + kEntryColumns +
                                                   " FROM entries WHERE tenant = $1 AND path = $2",
                                               {tenant, path}));
  if (r.empty()) return std::optional<EntryRecord>();
  return std::optional<EntryRecord>(EntryFrom(r[0]));
}

StatusOr<std::vector<std::string>> PortalStore::BlobsAmong(const std::string& tenant,
                                                           const std::vector<std::string>& digests,
                                                           bool only_unsynced) {
  std::string sql = "SELECT sha256 FROM blobs WHERE tenant = $1";
  if (only_unsynced) sql += " AND synced = 0";
  sql += " AND sha256 IN (";
  store::SqlParams params = {tenant};
  for (size_t i = 0; i < digests.size(); ++i) {
    sql += (i ? ", $" : "$") + std::to_string(i + 2);
    params.push_back(digests[i]);
  }
  sql += ")";
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute(sql, params));
  std::vector<std::string> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(row.Text(0));
  return out;
}

StatusOr<std::vector<std::string>> PortalStore::MissingBlobs(
    const std::string& tenant, const std::vector<std::string>& digests) {
  std::vector<std::string> missing;
  if (digests.empty()) return missing;
  PORTICO_ASSIGN_OR_RETURN(std::vector<std::string> present,
                           BlobsAmong(tenant, digests, /*only_unsynced=*/false));
  std::sort(present.begin(), present.end());
  for (const auto& d : digests) {
    if (!std::binary_search(present.begin(), present.end(), d)) missing.push_back(d);
  }
  return missing;
}

StatusOr<bool> PortalStore::AddBlob(const std::string& tenant, const std::string& sha256,
                                    int64_t size, int64_t now, bool synced) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("INSERT INTO blobs (tenant, sha256, size, created_at, synced) VALUES "
                          "($1, $2, $3, $4, $5) ON CONFLICT (tenant, sha256) DO NOTHING",
                          {tenant, sha256, size, now, synced ? 1 : 0}));
  return r.rows_affected > 0;
}

StatusOr<std::vector<std::string>> PortalStore::UnsyncedBlobs(
    const std::string& tenant, const std::vector<std::string>& digests) {
  if (digests.empty()) return std::vector<std::string>();
  return BlobsAmong(tenant, digests, /*only_unsynced=*/true);
}

Status PortalStore::ForgetUnsyncedBlob(const std::string& tenant, const std::string& sha256) {
  return db_
      .Execute("DELETE FROM blobs WHERE tenant = $1 AND sha256 = $2 AND synced = 0",
               {tenant, sha256})
      .status();
}

StatusOr<std::vector<EntryRecord>> PortalStore::ListChildren(
    const std::string& tenant, const std::string& parent,
    const std::optional<std::pair<EntryType, std::string>>& after, int limit) {
  std::string sql =
      std::string("SELECT ") + kEntryColumns + " FROM entries WHERE tenant = $1 AND parent = $2";
  store::SqlParams params = {tenant, parent};
  if (after) {
    sql += " AND (kind > $3 OR (kind = $3 AND name > $4))";
    params.push_back(KindOf(after->first));
    params.push_back(after->second);
  }
  sql += " ORDER BY kind, name LIMIT " + std::to_string(limit);
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute(sql, params));
  std::vector<EntryRecord> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(EntryFrom(row));
  return out;
}

Status PortalStore::Transaction(const std::function<Status(PortalTx&)>& fn) {
  return db_.Transaction([&](store::SqlSession& s) {
    PortalTx tx(s);
    return fn(tx);
  });
}

Status PortalStore::Ping() { return db_.Execute("SELECT 1").status(); }

}  // namespace portico::portal

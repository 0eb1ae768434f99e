// The portal's persistent state: tenants, the published catalog (folders and assets) of each
// tenant, the last applied publish seq of every path (tombstones included), and the responses of
// applied commits by idempotency key. SQL lives here and only here. Every query of tenant data
// names the tenant in its WHERE clause, so one tenant's rows are never read for another.
//
// Every call blocks on the database: run it on the handler pool. Thread-safe; a PortalTx is valid
// only inside the Transaction callback that received it, on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/sql.h"

namespace portico::portal {

struct TenantRecord {
  std::string id;
  std::string org;
  std::string alias;            // "" when none
  std::string bound_author_id;  // "" until an author binds
  std::string bound_author_url;
  int64_t bound_at = 0;
  int64_t created_at = 0;
};

enum class EntryType { kFolder, kAsset };
std::string_view EntryTypeName(EntryType type);

// One published folder or asset of a tenant.
struct EntryRecord {
  std::string path;  // canonical DAM path
  std::string parent;
  std::string name;
  EntryType type = EntryType::kFolder;
  std::string title;
  std::string sha256;  // assets only
  int64_t size = 0;
  std::string content_type;
  int64_t version = 0;
  int64_t modified_at = 0;   // on the author
  int64_t published_at = 0;  // when the portal applied it
};

// The last publish operation applied to a path: its seq and whether it deleted the path.
struct PathSeq {
  int64_t seq = 0;
  bool deleted = false;
};

// A commit already applied, stored with the response it gave.
struct CommitRecord {
  std::string request_digest;  // sha256 hex of the canonical request JSON
  std::string response_json;
};

// A tenant's record of an uploaded blob.
struct BlobRecord {
  int64_t size = 0;
  bool synced = true;  // false while its file may not survive a power cut
};

// Typed statements inside one write transaction (see PortalStore::Transaction).
class PortalTx {
 public:
  explicit PortalTx(store::SqlSession& session) : s_(session) {}

  StatusOr<std::optional<EntryRecord>> GetEntry(const std::string& tenant, const std::string& path);
  // Inserts or replaces the entry at e.path.
  Status PutEntry(const std::string& tenant, const EntryRecord& e);
  // Deletes the entry at `path` and everything below it; returns how many rows went.
  StatusOr<int64_t> DeleteSubtree(const std::string& tenant, const std::string& path);

  StatusOr<std::optional<PathSeq>> GetSeq(const std::string& tenant, const std::string& path);
  Status PutSeq(const std::string& tenant, const std::string& path, const PathSeq& seq);

  StatusOr<std::optional<CommitRecord>> GetCommit(const std::string& tenant,
                                                  const std::string& key);
  Status PutCommit(const std::string& tenant, const std::string& key, const CommitRecord& c,
                   int64_t now);

  // The size of blob `sha256` as received for this tenant, or nullopt if the tenant never
  // uploaded it.
  StatusOr<std::optional<int64_t>> BlobSize(const std::string& tenant, const std::string& sha256);
  // The tenant's record of blob `sha256`, or nullopt.
  StatusOr<std::optional<BlobRecord>> GetBlob(const std::string& tenant, const std::string& sha256);
  // Records that the blob's file is durable (the caller synced it before this commits).
  Status MarkBlobSynced(const std::string& tenant, const std::string& sha256);

 private:
  store::SqlSession& s_;
};

class PortalStore {
 public:
  // Applies the portal's migrations to `db` (which must outlive the store).
  static StatusOr<std::unique_ptr<PortalStore>> Open(store::SqlDatabase& db);

  // Fails with Conflict "tenant_exists" if the id or the alias is taken (as an id or an alias),
  // or "org_has_tenant" if the org already has a tenant.
  Status CreateTenant(const TenantRecord& t);
  // The tenant whose id or alias is `name`; NotFound otherwise.
  StatusOr<TenantRecord> FindTenant(const std::string& name);
  // Binds `author_id` to the tenant unless another author is bound (the row is updated only when
  // no author is bound, so two racing authors cannot both bind). Returns the record afterwards.
  StatusOr<TenantRecord> BindAuthor(const std::string& tenant, const std::string& author_id,
                                    const std::string& author_url, int64_t now);

  StatusOr<std::optional<EntryRecord>> GetEntry(const std::string& tenant, const std::string& path);

  // Blobs are recorded per tenant: a tenant's check never reveals what another tenant uploaded.
  // The digests of `digests` this tenant has not uploaded, in order (at most 1,000 at once).
  StatusOr<std::vector<std::string>> MissingBlobs(const std::string& tenant,
                                                  const std::vector<std::string>& digests);
  // Records that the tenant uploaded this blob (idempotent: an existing row is kept as it is).
  // `synced` false: the file was written without fsync (BlobWriter::CommitDeferred) and must be
  // synced before a commit names it. Returns true if it is new for the tenant.
  StatusOr<bool> AddBlob(const std::string& tenant, const std::string& sha256, int64_t size,
                         int64_t now, bool synced = true);
  // Those of `digests` the tenant has with synced = 0 (at most 1,000 at once).
  StatusOr<std::vector<std::string>> UnsyncedBlobs(const std::string& tenant,
                                                   const std::vector<std::string>& digests);
  // Deletes the tenant's row of blob `sha256` if it is not synced (its file proved lost or
  // damaged, so the tenant must upload it again); a synced row is kept.
  Status ForgetUnsyncedBlob(const std::string& tenant, const std::string& sha256);

  // Children of `parent`, folders first then by name, strictly after the (type, name) position
  // `after` when given, at most `limit`.
  StatusOr<std::vector<EntryRecord>> ListChildren(
      const std::string& tenant, const std::string& parent,
      const std::optional<std::pair<EntryType, std::string>>& after, int limit);

  // Runs `fn` in one write transaction: committed when it returns OK, else rolled back.
  Status Transaction(const std::function<Status(PortalTx&)>& fn);
  // Whether the database answers (readiness).
  Status Ping();

 private:
  explicit PortalStore(store::SqlDatabase& db) : db_(db) {}
  // The digests of `digests` (not empty) stored for `tenant` (only the undurable ones if
  // `only_unsynced`), in no particular order.
  StatusOr<std::vector<std::string>> BlobsAmong(const std::string& tenant,
                                                const std::vector<std::string>& digests,
                                                bool only_unsynced);
  store::SqlDatabase& db_;
};

}  // namespace portico::portal

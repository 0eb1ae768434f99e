// The author's database: folders, assets and their versions, the per-author change counter
// (`seq`), the stable author id, the IMS configuration (secrets sealed by the caller), the portal
// cloud service and its publish agents. The only place with the author's SQL. Thread-safe (the
// SqlDatabase is); every method blocks on the database.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/sql.h"

namespace portico::author {

struct FolderRecord {
  std::string path;
  std::string title;
  int64_t seq = 0;
  int64_t created_at = 0;
  int64_t modified_at = 0;
};

struct AssetVersionRecord {
  int64_t version = 0;
  std::string sha256;
  int64_t size = 0;
  int64_t seq = 0;
  int64_t created_at = 0;
};

struct AssetRecord {
  std::string path;
  std::string content_type;
  int64_t version = 0;  // the current version
  std::string sha256;   // of the current version
  int64_t size = 0;
  int64_t seq = 0;
  int64_t created_at = 0;
  int64_t modified_at = 0;
};

// One entry of a folder listing.
struct ChildRecord {
  bool is_folder = false;
  std::string name;
  std::string path;
  int64_t size = 0;
  std::string sha256;
  int64_t version = 0;
  int64_t seq = 0;
  int64_t modified_at = 0;
};

// Where a listing resumes: after the folder or asset of this name.
struct ListCursor {
  bool in_assets = false;
  std::string after_name;
};

struct ImsConfigRecord {
  std::string alias;
  std::string solution;
  std::string certificate_pem;
  std::string sealed_private_key;  // SecretBox output
  int64_t key_generation = 1;      // +1 at each regeneration (part of the sealing AAD)
  std::string title;
  std::string authorization_server;
  std::string client_id;
  std::string sealed_client_secret;  // "" until the account is filled
  std::string jwt_payload;           // JSON text, "" until the account is filled
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct CloudServiceRecord {
  std::string title;
  std::string tenant_url;
  std::string tenant;
  std::string org;
  int64_t created_at = 0;
};

struct AgentRecord {
  std::string name;
  std::string state;  // "idle"
  std::optional<int64_t> last_test_at;
  std::optional<bool> last_test_ok;
  std::string last_test_message;
};

class AuthorStore {
 public:
  // Applies the author's migrations ("author") to `db` and returns the store. `db` must outlive it.
  static StatusOr<std::unique_ptr<AuthorStore>> Open(store::SqlDatabase& db);

  // The author's stable random id, made on first call and kept.
  StatusOr<std::string> AuthorId();
  // The latest seq given out (0 before any change).
  StatusOr<int64_t> CurrentSeq();

  // --- folders and assets (paths are canonical DAM paths; "/content/dam" always exists).
  // Whether a folder exists at `path`.
  StatusOr<bool> FolderExists(const std::string& path);
  // Creates the folder; AlreadyExists-style Conflict ("folder_exists") if it exists,
  // Conflict ("asset_exists") if an asset has that path, NotFound ("parent_not_found") if
  // the parent is missing. Takes the next seq.
  StatusOr<FolderRecord> CreateFolder(const std::string& path, int64_t now);
  StatusOr<FolderRecord> GetFolder(const std::string& path);
  // Children of `folder`: folders first, then assets, each by name; at most `limit` + 1 rows
  // so the caller knows whether more follow.
  StatusOr<std::vector<ChildRecord>> ListChildren(const std::string& folder,
                                                  const ListCursor& cursor, int limit);
  // Everything below `folder` (not `folder` itself) as one consistent snapshot, read in one
  // read transaction with one query per table: the folders by path (so a folder comes before
  // every folder below it), then the assets by path. `folder` may be the root /content/dam.
  // Does not check that `folder` exists.
  Status ListSubtree(const std::string& folder, std::vector<FolderRecord>* folders,
                     std::vector<AssetRecord>* assets);

  // Records a new version of the asset at `path` with the committed blob: version = last + 1,
  // the next seq. NotFound ("parent_not_found") if the parent folder is missing, Conflict
  // ("folder_exists") if a folder has that path. One transaction: concurrent calls on one path
  // get consecutive versions.
  StatusOr<AssetRecord> AddAssetVersion(const std::string& path, const std::string& sha256,
                                        int64_t size, const std::string& content_type, int64_t now);
  StatusOr<AssetRecord> GetAsset(const std::string& path);
  StatusOr<std::vector<AssetVersionRecord>> ListVersions(const std::string& path);

  // --- the IMS configuration (one row at most)
  // Inserts it; Conflict ("ims_config_exists") if one exists.
  Status InsertImsConfig(const ImsConfigRecord& record);
  // NotFound ("no_ims_config") if none.
  StatusOr<ImsConfigRecord> GetImsConfig();
  // Replaces the stored row (it must exist).
  Status UpdateImsConfig(const ImsConfigRecord& record);
  Status DeleteImsConfig();

  // --- the portal cloud service (one row at most) and its agents
  // Inserts the service and `agent_names` as idle agents; Conflict ("cloud_service_exists").
  Status InsertCloudService(const CloudServiceRecord& record,
                            const std::vector<std::string>& agent_names);
  StatusOr<CloudServiceRecord> GetCloudService();
  StatusOr<std::vector<AgentRecord>> ListAgents();
  StatusOr<AgentRecord> GetAgent(const std::string& name);
  Status RecordAgentTest(const std::string& name, int64_t at, bool ok, const std::string& message);

 private:
  explicit AuthorStore(store::SqlDatabase& db) : db_(db) {}
  store::SqlDatabase& db_;
};

}  // namespace portico::author

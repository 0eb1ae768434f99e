#include "author/publish/author_publish_source.h"

#include "protocol/dam_path.h"

namespace portico::author::publish {
namespace {

PublishObject FromFolder(const FolderRecord& f) {
  PublishObject o;
  o.is_folder = true;
  o.path = f.path;
  o.title = f.title;
  o.modified_at = f.modified_at;
  o.seq = f.seq;
  return o;
}

PublishObject FromAsset(const AssetRecord& a) {
  PublishObject o;
  o.path = a.path;
  o.title = std::string(protocol::DamName(a.path));
  o.modified_at = a.modified_at;
  o.seq = a.seq;
  o.sha256 = a.sha256;
  o.size = a.size;
  o.content_type = a.content_type;
  o.version = a.version;
  return o;
}

PublishObject Root() {
  PublishObject o;
  o.is_folder = true;
  o.path = std::string(protocol::kDamRoot);
  return o;
}

}  // namespace

StatusOr<PublishObject> AuthorPublishSource::Lookup(const std::string& path) {
  if (path == protocol::kDamRoot) return Root();
  auto folder = store_.GetFolder(path);
  if (folder.ok()) return FromFolder(*folder);
  if (folder.status().code() != Code::kNotFound) return folder.status();
  auto asset = store_.GetAsset(path);
  if (asset.ok()) return FromAsset(*asset);
  if (asset.status().code() != Code::kNotFound) return asset.status();
  return Status(Code::kNotFound, "unknown_path", "no folder or asset at " + path);
}

StatusOr<std::vector<PublishObject>> AuthorPublishSource::Expand(const std::string& folder) {
  PORTICO_ASSIGN_OR_RETURN(PublishObject top, Lookup(folder));
  if (!top.is_folder) return Status(Code::kNotFound, "not_a_folder", folder + " is not a folder");
  // One read transaction, one query per table: a consistent snapshot in milliseconds.
  std::vector<FolderRecord> folders;
  std::vector<AssetRecord> assets;
  PORTICO_RETURN_IF_ERROR(store_.ListSubtree(folder, &folders, &assets));
  std::vector<PublishObject> out;
  out.reserve(1 + folders.size() + assets.size());
  out.push_back(std::move(top));
  for (const auto& f : folders) out.push_back(FromFolder(f));
  for (const auto& a : assets) out.push_back(FromAsset(a));
  return out;
}

StatusOr<PublishTarget> AuthorPublishSource::Target() {
  auto cloud = store_.GetCloudService();
  if (!cloud.ok()) {
    if (cloud.status().code() == Code::kNotFound) {
      return Status(Code::kPreconditionFailed, "no_cloud_service",
                    "no portal cloud service is configured on this author");
    }
    return cloud.status();
  }
  PublishTarget t;
  t.tenant_url = cloud->tenant_url;
  while (!t.tenant_url.empty() && t.tenant_url.back() == '/') t.tenant_url.pop_back();
  auto split = SplitTenantUrl(t.tenant_url);
  if (!split) return Internal("the stored tenant URL has not the form <portal>/t/<tenant>");
  t.portal_url = split->first;
  t.tenant = cloud->tenant.empty() ? split->second : cloud->tenant;
  PORTICO_ASSIGN_OR_RETURN(t.author_id, store_.AuthorId());
  PORTICO_ASSIGN_OR_RETURN(auto agents, store_.ListAgents());
  for (const auto& a : agents) t.agents.push_back(a.name);
  return t;
}

}  // namespace portico::author::publish

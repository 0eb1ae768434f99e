#include "portal/service/catalog_service.h"

#include "core/crypto/encoding.h"
#include "protocol/dam_path.h"

namespace portico::portal {
namespace {

Status EntryNotFound(const std::string& path) {
  return Status(Code::kNotFound, "not_found", "nothing is published at " + path);
}

EntryRecord RootFolder() {
  EntryRecord e;
  e.path = std::string(protocol::kDamRoot);
  e.parent = "";
  e.name = std::string(protocol::DamName(protocol::kDamRoot));
  e.type = EntryType::kFolder;
  return e;
}

// A cursor is base64url("<kind>:<name>") of the last entry of the previous page.
std::string EncodeCursor(const EntryRecord& e) {
  return crypto::Base64UrlEncode(std::string(e.type == EntryType::kFolder ? "0:" : "1:") + e.name);
}

StatusOr<std::pair<EntryType, std::string>> DecodeCursor(const std::string& cursor) {
  Status bad(Code::kInvalidArgument, "invalid_cursor",
             "the cursor is not one this service gave; start again without it");
  if (cursor.size() > 1024) return bad;
  auto raw = crypto::Base64UrlDecode(cursor);
  if (!raw.ok() || raw->size() < 2 || (*raw)[1] != ':' || ((*raw)[0] != '0' && (*raw)[0] != '1'))
    return bad;
  std::string name = raw->substr(2);
  if (!protocol::ValidateDamName(name).ok()) return bad;
  return std::make_pair((*raw)[0] == '0' ? EntryType::kFolder : EntryType::kAsset, name);
}

}  // namespace

StatusOr<std::string> PathFromUrlTail(const std::string& tail) {
  if (tail.empty() || tail == "/") return std::string(protocol::kDamRoot);
  return protocol::NormalizeDamPath(tail.front() == '/' ? tail : "/" + tail);
}

CatalogService::CatalogService(PortalStore& store, store::BlobStore& blobs, TenantService& tenants)
    : store_(store), blobs_(blobs), tenants_(tenants) {}

StatusOr<TenantRecord> CatalogService::ReaderTenant(const Caller& caller,
                                                    const std::string& tenant) {
  PORTICO_ASSIGN_OR_RETURN(ResolvedTenant r, tenants_.Resolve(caller, tenant));
  return r.tenant;
}

StatusOr<ChildrenPage> CatalogService::ListChildren(const Caller& caller, const std::string& tenant,
                                                    const std::string& path,
                                                    std::optional<int> limit,
                                                    const std::string& cursor) {
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, ReaderTenant(caller, tenant));
  PORTICO_ASSIGN_OR_RETURN(std::string canonical, PathFromUrlTail(path));
  int page = limit.value_or(kDefaultPageSize);
  if (page < 1 || page > kMaxPageSize) {
    return Status(Code::kInvalidArgument, "invalid_limit",
                  "limit must be 1 to " + std::to_string(kMaxPageSize));
  }
  std::optional<std::pair<EntryType, std::string>> after;
  if (!cursor.empty()) {
    PORTICO_ASSIGN_OR_RETURN(after, DecodeCursor(cursor));
  }
  ChildrenPage out;
  if (canonical == protocol::kDamRoot) {
    out.folder = RootFolder();
  } else {
    PORTICO_ASSIGN_OR_RETURN(auto e, store_.GetEntry(t.id, canonical));
    if (!e) return EntryNotFound(canonical);
    if (e->type != EntryType::kFolder) {
      return Status(Code::kInvalidArgument, "not_a_folder", canonical + " is an asset");
    }
    out.folder = *e;
  }
  PORTICO_ASSIGN_OR_RETURN(out.entries, store_.ListChildren(t.id, canonical, after, page + 1));
  if (static_cast<int>(out.entries.size()) > page) {
    out.entries.resize(page);
    out.next_cursor = EncodeCursor(out.entries.back());
  }
  return out;
}

StatusOr<EntryRecord> CatalogService::GetEntry(const Caller& caller, const std::string& tenant,
                                               const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, ReaderTenant(caller, tenant));
  PORTICO_ASSIGN_OR_RETURN(std::string canonical, PathFromUrlTail(path));
  if (canonical == protocol::kDamRoot) return RootFolder();
  PORTICO_ASSIGN_OR_RETURN(auto e, store_.GetEntry(t.id, canonical));
  if (!e) return EntryNotFound(canonical);
  return *e;
}

StatusOr<AssetDownload> CatalogService::OpenAsset(const Caller& caller, const std::string& tenant,
                                                  const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(EntryRecord e, GetEntry(caller, tenant, path));
  if (e.type != EntryType::kAsset) {
    return Status(Code::kInvalidArgument, "not_an_asset",
                  e.path + " is a folder; download its assets one by one");
  }
  auto reader = blobs_.Open(e.sha256);
  if (!reader.ok()) {
    if (reader.status().code() == Code::kNotFound) {
      return Internal("the content of " + e.path + " is missing from the blob store");
    }
    return reader.status();
  }
  return AssetDownload{std::move(e), std::move(*reader)};
}

}  // namespace portico::portal

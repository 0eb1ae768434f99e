// Reading a tenant's published catalog (SPEC P5 listing, P8 single files): folder listings with
// keyset paging (folders first, then by name), one entry, and opening an asset's blob for a
// download. Readers are any valid identity token of the tenant's org (roles come later); another
// org's token gets 404 unknown_tenant, as if the tenant did not exist. A tenant's alias works for
// reading. Thread-safe; every call blocks.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "portal/service/caller.h"
#include "portal/service/tenant_service.h"
#include "portal/store/portal_store.h"
#include "store/blob_store.h"

namespace portico::portal {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

struct ChildrenPage {
  EntryRecord folder;
  std::vector<EntryRecord> entries;
  std::string next_cursor;  // "" on the last page
};

struct AssetDownload {
  EntryRecord entry;
  std::unique_ptr<store::BlobReader> reader;
};

class CatalogService {
 public:
  CatalogService(PortalStore& store, store::BlobStore& blobs, TenantService& tenants);

  // The children of the folder `path` (an empty path is /content/dam, which always exists).
  // `limit` 1..kMaxPageSize (default kDefaultPageSize); `cursor` is a previous page's
  // next_cursor. Fails with 400 invalid_path, invalid_limit, invalid_cursor, not_a_folder; 404
  // not_found.
  StatusOr<ChildrenPage> ListChildren(const Caller& caller, const std::string& tenant,
                                      const std::string& path, std::optional<int> limit,
                                      const std::string& cursor);

  // One entry (folder or asset); 404 not_found.
  StatusOr<EntryRecord> GetEntry(const Caller& caller, const std::string& tenant,
                                 const std::string& path);

  // Opens an asset's content; 400 not_an_asset for a folder, 404 not_found.
  StatusOr<AssetDownload> OpenAsset(const Caller& caller, const std::string& tenant,
                                    const std::string& path);

 private:
  StatusOr<TenantRecord> ReaderTenant(const Caller& caller, const std::string& tenant);

  PortalStore& store_;
  store::BlobStore& blobs_;
  TenantService& tenants_;
};

// The canonical DAM path of a URL tail ("content/dam/a" or "/content/dam/a"; "" is the root).
StatusOr<std::string> PathFromUrlTail(const std::string& tail);

}  // namespace portico::portal

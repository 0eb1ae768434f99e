// Tenants (SPEC P1): one per org, with an optional alias, and the rule that resolves a tenant
// name in a URL for a caller. A caller of another org is answered as if the tenant did not exist.
// Thread-safe; every call blocks on the database.
//
// Every ingest call resolves its tenant (a blob upload is one call per blob), so records found
// are kept for a second (kTenantCacheMs): changes made through this service (a new tenant, an
// author bound) drop them at once; changes by another process sharing the database are seen
// within that second.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/status.h"
#include "portal/service/caller.h"
#include "portal/service/portal_settings.h"
#include "portal/store/portal_store.h"

namespace portico::portal {

// A tenant found through a URL: by its id, or by its alias.
struct ResolvedTenant {
  TenantRecord tenant;
  bool via_alias = false;
};

// True for `[a-z0-9][a-z0-9-]{1,62}`.
bool IsValidTenantName(std::string_view name);

class TenantService {
 public:
  TenantService(PortalStore& store, const Clock& clock, const PortalSettings& settings);

  // Creates the tenant of the caller's org. The caller needs the scope ims_admin (else 403
  // insufficient_scope). Fails with 400 invalid_tenant / invalid_alias for a bad name, 409
  // org_has_tenant when the org has one, 409 tenant_exists when the name is taken.
  StatusOr<TenantRecord> Create(const Caller& caller, const std::string& id,
                                const std::string& alias);
  // The tenant `name` (id or alias) for an admin of its org; 404 unknown_tenant otherwise.
  StatusOr<TenantRecord> GetForAdmin(const Caller& caller, const std::string& name);

  // The tenant `name` (id or alias) if the caller's org owns it; else 404 unknown_tenant naming
  // `name` (the same answer whether it does not exist or belongs to another org).
  StatusOr<ResolvedTenant> Resolve(const Caller& caller, const std::string& name);

  // Binds `author_id` to the tenant unless another author is bound (PortalStore::BindAuthor),
  // and forgets the cached records so the next call sees the binding.
  StatusOr<TenantRecord> BindAuthor(const std::string& tenant, const std::string& author_id,
                                    const std::string& author_url);

  // `<public url>/t/<id>`.
  std::string TenantUrl(const TenantRecord& t) const;
  std::string AliasUrl(const TenantRecord& t) const;  // "" without an alias

 private:
  struct CachedTenant {
    TenantRecord record;
    std::chrono::steady_clock::time_point found_at;
  };
  // The tenant whose id or alias is `name`, from the cache while fresh, else from the store.
  StatusOr<TenantRecord> Find(const std::string& name);
  void ForgetCached();

  PortalStore& store_;
  const Clock& clock_;
  const PortalSettings& settings_;
  std::mutex cache_mu_;
  std::unordered_map<std::string, CachedTenant> cache_;  // by the name looked up
  uint64_t generation_ = 0;  // bumped by every change made here: a read begun before is not kept
};

// How long a tenant record found in the store is used without reading it again.
inline constexpr std::chrono::milliseconds kTenantCacheMs{1000};

// The 404 every unknown or foreign tenant gets.
Status UnknownTenant(const std::string& name);

}  // namespace portico::portal

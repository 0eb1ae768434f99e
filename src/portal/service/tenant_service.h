// Tenants (SPEC P1): one per org, with an optional alias, and the rule that resolves a tenant
// name in a URL for a caller. A caller of another org is answered as if the tenant did not exist.
// Thread-safe; every call blocks on the database.
#pragma once

#include <string>

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

  // `<public url>/t/<id>`.
  std::string TenantUrl(const TenantRecord& t) const;
  std::string AliasUrl(const TenantRecord& t) const;  // "" without an alias

 private:
  PortalStore& store_;
  const Clock& clock_;
  const PortalSettings& settings_;
};

// The 404 every unknown or foreign tenant gets.
Status UnknownTenant(const std::string& name);

}  // namespace portico::portal

#include "portal/service/tenant_service.h"

namespace portico::portal {

bool IsValidTenantName(std::string_view name) {
  if (name.size() < 2 || name.size() > 63) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok) return false;
  }
  return true;
}

Status UnknownTenant(const std::string& name) {
  // Quote the name only when it is a plausible tenant name (never hostile bytes).
  std::string shown = IsValidTenantName(name) ? "'" + name + "'" : "of that name";
  return Status(Code::kNotFound, "unknown_tenant", "there is no tenant " + shown + " here");
}

TenantService::TenantService(PortalStore& store, const Clock& clock, const PortalSettings& settings)
    : store_(store), clock_(clock), settings_(settings) {}

StatusOr<TenantRecord> TenantService::Create(const Caller& caller, const std::string& id,
                                             const std::string& alias) {
  if (!caller.HasScope(kImsAdminScope)) {
    return Status(Code::kPermissionDenied, "insufficient_scope",
                  "creating a tenant needs an org admin's token (scope ims_admin)");
  }
  if (!IsValidTenantName(id)) {
    return Status(Code::kInvalidArgument, "invalid_tenant",
                  "a tenant id is 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'");
  }
  if (!alias.empty() && !IsValidTenantName(alias)) {
    return Status(Code::kInvalidArgument, "invalid_alias",
                  "an alias is 2 to 63 characters of a-z, 0-9 and '-', not starting with '-'");
  }
  if (alias == id) {
    return Status(Code::kInvalidArgument, "invalid_alias", "the alias must differ from the id");
  }
  TenantRecord t;
  t.id = id;
  t.org = caller.org;
  t.alias = alias;
  t.created_at = clock_.NowSeconds();
  PORTICO_RETURN_IF_ERROR(store_.CreateTenant(t));
  ForgetCached();
  return t;
}

StatusOr<TenantRecord> TenantService::GetForAdmin(const Caller& caller, const std::string& name) {
  PORTICO_ASSIGN_OR_RETURN(ResolvedTenant r, Resolve(caller, name));
  if (!caller.HasScope(kImsAdminScope)) {
    return Status(Code::kPermissionDenied, "insufficient_scope",
                  "reading a tenant's settings needs an org admin's token (scope ims_admin)");
  }
  return r.tenant;
}

StatusOr<ResolvedTenant> TenantService::Resolve(const Caller& caller, const std::string& name) {
  if (!IsValidTenantName(name)) return UnknownTenant(name);
  auto t = Find(name);
  if (!t.ok()) {
    if (t.status().code() == Code::kNotFound) return UnknownTenant(name);
    return t.status();
  }
  if (caller.org.empty() || t->org != caller.org) return UnknownTenant(name);
  return ResolvedTenant{*t, t->id != name};
}

StatusOr<TenantRecord> TenantService::BindAuthor(const std::string& tenant,
                                                 const std::string& author_id,
                                                 const std::string& author_url) {
  auto bound = store_.BindAuthor(tenant, author_id, author_url, clock_.NowSeconds());
  ForgetCached();
  return bound;
}

StatusOr<TenantRecord> TenantService::Find(const std::string& name) {
  const auto now = std::chrono::steady_clock::now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(name);
    if (it != cache_.end() && now - it->second.found_at < kTenantCacheMs) {
      return it->second.record;
    }
    generation = generation_;
  }
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, store_.FindTenant(name));
  std::lock_guard lock(cache_mu_);
  if (generation != generation_) return t;  // changed meanwhile: maybe read before the change
  // Names are checked before they get here, and tenants are few (one per org): a full cache is
  // simply emptied.
  if (cache_.size() >= 1024) cache_.clear();
  cache_.insert_or_assign(name, CachedTenant{t, now});
  return t;
}

void TenantService::ForgetCached() {
  std::lock_guard lock(cache_mu_);
  cache_.clear();
  ++generation_;
}

std::string TenantService::TenantUrl(const TenantRecord& t) const {
  return settings_.public_url + "/t/" + t.id;
}

std::string TenantService::AliasUrl(const TenantRecord& t) const {
  return t.alias.empty() ? std::string() : settings_.public_url + "/t/" + t.alias;
}

}  // namespace portico::portal

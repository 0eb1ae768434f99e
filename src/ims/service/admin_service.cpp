#include "ims/service/admin_service.h"

#include <algorithm>

#include "core/crypto/password.h"
#include "core/crypto/random.h"
#include "core/log.h"
#include "ims/service/console_service.h"

namespace portico::ims {
namespace {

constexpr int kFreeFailures = 5;
constexpr int64_t kMaxLockMs = 15 * 60 * 1000;
constexpr int kRemoteFailures = 30;
constexpr int64_t kRemoteWindowMs = 5 * 60 * 1000;
constexpr const char* kAdminScope = "ims_admin";

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

AdminService::AdminService(ImsStore& store, TokenService& tokens, const Clock& clock)
    : store_(store), tokens_(tokens), clock_(clock) {}

StatusOr<BootstrapResult> AdminService::EnsureOrgAdmin(const std::string& org_name,
                                                       const std::string& admin_login,
                                                       const std::string& password,
                                                       const std::string& role) {
  BootstrapResult out;
  auto existing = store_.FindUserByLogin(admin_login);
  if (existing.ok()) {
    out.admin = *existing;
    PORTICO_ASSIGN_OR_RETURN(out.org, store_.GetOrg(existing->org_id));
    return out;
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  PORTICO_RETURN_IF_ERROR(CheckDisplayName("org name", org_name));
  PORTICO_RETURN_IF_ERROR(CheckDisplayName("login", admin_login));
  if (password.size() < 12)
    return InvalidArgument("the admin password must be at least 12 characters");
  out.org = OrgRecord{Upper(crypto::RandomHex(12)) + "@PorticoOrg", org_name, clock_.NowSeconds()};
  PORTICO_RETURN_IF_ERROR(store_.CreateOrg(out.org));
  PORTICO_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(password));
  out.admin = UserRecord{Upper(crypto::RandomHex(12)) + "@PorticoID",
                         out.org.id,
                         admin_login,
                         hash,
                         role,
                         clock_.NowSeconds()};
  PORTICO_RETURN_IF_ERROR(store_.CreateUser(out.admin));
  out.created = true;
  log::Info("org_created", {{"org", out.org.id}, {"admin", admin_login}});
  return out;
}

Status AdminService::CheckNotLocked(const std::string& login, const std::string& remote) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMillis();
  for (auto* entry : {&by_login_[login], &by_remote_[remote]}) {
    if (entry->locked_until_ms > now) {
      int64_t wait = (entry->locked_until_ms - now + 999) / 1000;
      return Status(Code::kTooManyRequests, "too_many_requests",
                    "too many failed logins; try again in " + std::to_string(wait) + " s");
    }
  }
  return Status::Ok();
}

void AdminService::RecordFailure(const std::string& login, const std::string& remote) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMillis();
  Attempts& l = by_login_[login];
  l.failures++;
  if (l.failures >= kFreeFailures) {
    int shift = std::min(l.failures - kFreeFailures, 20);
    l.locked_until_ms = now + std::min<int64_t>(1000LL << shift, kMaxLockMs);
  }
  Attempts& r = by_remote_[remote];
  if (now - r.window_start_ms > kRemoteWindowMs) {
    r.window_start_ms = now;
    r.failures = 0;
  }
  if (++r.failures >= kRemoteFailures) r.locked_until_ms = now + kRemoteWindowMs;
}

StatusOr<LoginResult> AdminService::Login(const std::string& login, const std::string& password,
                                          const std::string& remote) {
  if (login.empty() || password.empty()) return InvalidArgument("login and password are required");
  if (login.size() > 256 || password.size() > 1024)
    return InvalidArgument("login or password is too long");
  PORTICO_RETURN_IF_ERROR(CheckNotLocked(login, remote));
  auto user = store_.FindUserByLogin(login);
  // Hash even for an unknown login so timing does not tell which logins exist.
  static const std::string kDummyHash = crypto::HashPassword("portico-dummy-password").value();
  bool ok =
      crypto::VerifyPassword(user.ok() ? user->password_hash : kDummyHash, password) && user.ok();
  if (!ok) {
    if (!user.ok() && user.status().code() != Code::kNotFound) return user.status();
    RecordFailure(login, remote);
    log::Warn("login_failed", {{"login", login}, {"remote", remote}});
    return Status(Code::kUnauthenticated, "invalid_grant", "login or password is wrong");
  }
  {
    std::lock_guard lock(mu_);
    by_login_.erase(login);
  }
  PORTICO_ASSIGN_OR_RETURN(auto token, tokens_.IssueUserToken(*user, {kAdminScope}));
  log::Info("login", {{"login", login}, {"org", user->org_id}});
  return LoginResult{std::move(token), *user};
}

StatusOr<AdminPrincipal> AdminService::Authenticate(std::string_view bearer_token) {
  PORTICO_ASSIGN_OR_RETURN(auto v, tokens_.VerifyAccessToken(bearer_token));
  if (std::find(v.scopes.begin(), v.scopes.end(), kAdminScope) == v.scopes.end()) {
    return OAuthInvalidToken("this token does not carry the admin scope");
  }
  PORTICO_ASSIGN_OR_RETURN(auto user, store_.GetUser(v.user_id));
  if (user.role != "org_admin" && user.role != "system_admin")
    return PermissionDenied("this user is not an org admin");
  return AdminPrincipal{user.id, user.org_id, user.login, user.role};
}

StatusOr<AdminPrincipal> AdminService::AuthorizeOrg(std::string_view bearer_token,
                                                    const std::string& org_id) {
  PORTICO_ASSIGN_OR_RETURN(auto p, Authenticate(bearer_token));
  if (p.org_id != org_id) return NotFound("no such org");
  return p;
}

}  // namespace portico::ims

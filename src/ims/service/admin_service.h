// Orgs and their admins: the bootstrap of an org with its first admin, the admins' login
// (argon2id passwords, with failed attempts rate-limited per login and per client address), and
// the check that a bearer token belongs to an admin of a given org. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "ims/service/token_service.h"
#include "ims/store/ims_store.h"

namespace portico::ims {

struct BootstrapResult {
  OrgRecord org;
  UserRecord admin;
  bool created = false;  // false: the admin existed already and nothing changed
};

struct AdminPrincipal {
  std::string user_id;
  std::string org_id;
  std::string login;
  std::string role;  // "org_admin" or "system_admin" (also an admin of its own org)
};

struct LoginResult {
  IssuedToken token;
  UserRecord user;
};

class AdminService {
 public:
  AdminService(ImsStore& store, TokenService& tokens, const Clock& clock);

  // Makes the org and its admin unless a user with `admin_login` exists (then returns it,
  // unchanged). The password must be at least 12 characters. `role` is "org_admin" or
  // "system_admin" (the deployment's first admin, who may also rotate signing keys).
  StatusOr<BootstrapResult> EnsureOrgAdmin(const std::string& org_name,
                                           const std::string& admin_login,
                                           const std::string& password,
                                           const std::string& role = "org_admin");
  static bool IsSystemAdmin(const AdminPrincipal& p) { return p.role == "system_admin"; }
  // Checks the password and issues an admin token. After 5 failures for one login, further
  // attempts are refused (kTooManyRequests) for a time that doubles with each failure, up to
  // 15 minutes; 30 failures from one address in 5 minutes block that address for 5 minutes.
  StatusOr<LoginResult> Login(const std::string& login, const std::string& password,
                              const std::string& remote);
  // The admin a bearer token belongs to; kUnauthenticated if it is not a valid admin token.
  StatusOr<AdminPrincipal> Authenticate(std::string_view bearer_token);
  // As Authenticate, then kNotFound unless the admin belongs to `org_id` (other orgs look absent).
  StatusOr<AdminPrincipal> AuthorizeOrg(std::string_view bearer_token, const std::string& org_id);

 private:
  struct Attempts {
    int failures = 0;
    int64_t locked_until_ms = 0;
    int64_t window_start_ms = 0;
  };
  Status CheckNotLocked(const std::string& login, const std::string& remote);
  void RecordFailure(const std::string& login, const std::string& remote);

  ImsStore& store_;
  TokenService& tokens_;
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Attempts> by_login_;
  std::map<std::string, Attempts> by_remote_;
};

}  // namespace portico::ims

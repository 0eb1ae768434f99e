// Who is calling: what the api layer learned from a verified identity token. The service rules
// decide with it (org, scopes) and never see the token itself.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace portico::portal {

struct Caller {
  std::string org;
  std::string subject;
  std::vector<std::string> scopes;

  bool HasScope(std::string_view scope) const {
    return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
  }
};

// The identity service's admin scope: held by org admins' tokens.
inline constexpr std::string_view kImsAdminScope = "ims_admin";

}  // namespace portico::portal

#include "ims/service/ims_settings.h"

namespace portico::ims {

const std::vector<ApiDefinition>& KnownApis() {
  static const std::vector<ApiDefinition> apis = {
      {"portal", {"ent_portal_sdk"}, {"openid", "AdobeID", "read_organizations", "ent_portal_sdk"}},
  };
  return apis;
}

const ApiDefinition* FindApi(const std::string& name) {
  for (const auto& a : KnownApis()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace portico::ims

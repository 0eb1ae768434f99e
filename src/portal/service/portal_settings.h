// Settings the portal's rules read. The public URL is known only once the server has bound its
// port, so services hold a reference to one PortalSettings completed before serving starts.
#pragma once

#include <string>

namespace portico::portal {

struct PortalSettings {
  std::string public_url;  // without a trailing slash, e.g. http://127.0.0.1:8482
};

}  // namespace portico::portal

// Connects a fresh author to a portal tenant through the identity service, step by step, with
// the same public APIs a person would call (SPEC §5): log in as an org admin; make sure the
// tenant exists on the portal; create the author's IMS configuration; download its certificate;
// make a project with the portal API and a service-account credential from that certificate in
// the developer console; fill the author's account; check health; create the portal cloud
// service (which makes the publish agents); test every agent. `portico connect` and the first
// start of `portico up` both run it. Steps already done (a configuration that exists and is
// healthy, a cloud service already pointing at the tenant) are reported and kept, so running it
// again is harmless.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace portico::cli {

struct ConnectOptions {
  std::string ims_url;
  std::string login;  // an admin of the org the author and tenant belong to
  std::string password;
  std::string author_url;
  std::string portal_url;
  std::string tenant;
  std::string project = "portico-author";  // the developer-console project to use or make
  std::string alias = "portal";            // the IMS configuration's alias
  std::string title = "Portico portal";    // the cloud service's title
  // Called after each step with {"step", "ok", "message"} (and details).
  std::function<void(const nlohmann::json& step)> on_step;
};

// Runs every step; stops at the first that fails and returns its Status with a message naming
// the step. On success returns {"steps": [...], "tenant_url", "client_id", "agents": [...]}.
StatusOr<nlohmann::json> Connect(const ConnectOptions& options);

// Prints one step on a terminal: "  [ok] message" or "  [failed] message".
void PrintStep(const nlohmann::json& step);

}  // namespace portico::cli

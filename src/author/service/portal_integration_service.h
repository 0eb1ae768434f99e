// The portal cloud service of the author (SPEC A4, A8): the tenant it publishes to and its publish
// agents. Saving it checks the tenant URL by a handshake that binds this author to the tenant
// (the portal refuses an unknown tenant or an alias URL, naming the right URL, and a second
// author); then `agent_count` agents exist. Test connection delivers the test package end to
// end: handshake with protocol versions, check, upload of protocol::kTestPackageBytes, commit as
// a dry run; it reports "test package successfully delivered" or the failing step and why.
// Thread-safe; blocking.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "author/service/portal_gateway.h"
#include "author/service/token_provider.h"
#include "author/store/author_store.h"
#include "core/clock.h"
#include "core/status.h"

namespace portico::author {

inline constexpr const char* kTestDeliveredMessage = "test package successfully delivered";

struct CloudServiceInput {
  std::string title;
  std::string tenant_url;
};

struct AgentTestResult {
  std::string agent;
  bool ok = false;
  std::string step;  // "" when ok, else token|handshake|version|check|upload|commit
  std::string message;
};

struct PortalIntegrationOptions {
  int agent_count = 4;
  std::string author_url;        // sent in the handshake, for people reading portal settings
  const Clock* clock = nullptr;  // default: the system clock
};

class PortalIntegrationService {
 public:
  // Every reference must outlive the service.
  PortalIntegrationService(AuthorStore& store, TokenProvider& tokens, PortalGateway& gateway,
                           PortalIntegrationOptions options = {});

  // Validates and saves the cloud service and creates its agents. 400 for a malformed URL,
  // 409 cloud_service_exists for a second one, the token's error when no token can be had,
  // the portal's refusal (its status and message) otherwise.
  StatusOr<CloudServiceRecord> Create(const CloudServiceInput& input);
  StatusOr<CloudServiceRecord> Get();
  StatusOr<std::vector<AgentRecord>> ListAgents();
  // Runs test connection on agent `name` (404 if unknown) and records the result. The result
  // says why a test failed; only a missing agent or cloud service is an error.
  StatusOr<AgentTestResult> TestAgent(const std::string& name);

  // Sets the author URL sent in handshakes. Call before the service is shared (not thread-safe).
  void SetAuthorUrl(std::string url) { options_.author_url = std::move(url); }

  // The agents' names for `count` agents: portal-agent-1 ... portal-agent-N.
  static std::vector<std::string> AgentNames(int count);

 private:
  // Calls `fn` with a token; on 401 invalidates that token and calls once more with a new one.
  template <typename T, typename Fn>
  StatusOr<T> WithToken(const std::string& tenant_url, Fn fn);

  AuthorStore& store_;
  TokenProvider& tokens_;
  PortalGateway& gateway_;
  PortalIntegrationOptions options_;
  const Clock& clock_;
};

}  // namespace portico::author

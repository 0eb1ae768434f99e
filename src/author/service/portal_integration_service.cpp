#include "author/service/portal_integration_service.h"

#include "core/crypto/random.h"
#include "core/crypto/sha256.h"
#include "core/log.h"

namespace portico::author {
namespace {

StatusOr<std::string> NormalizeTenantUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status(Code::kInvalidArgument, "invalid_tenant_url",
                  "'tenant_url' must be an http:// or https:// URL (the tenant's URL, e.g. "
                  "https://portal.example/t/acme)");
  }
  if (url.size() > 2048 || url.find_first_of("?# \t\r\n") != std::string::npos) {
    return Status(Code::kInvalidArgument, "invalid_tenant_url",
                  "'tenant_url' must not hold a query, fragment or spaces");
  }
  return url;
}

// A version mismatch (A8) as a message, or "" when both ends can talk.
std::string VersionProblem(const protocol::HandshakeResponse& hs) {
  if (hs.protocol_version < protocol::kPublishProtocolVersion) {
    return protocol::PortalTooOldMessage(hs.protocol_version, protocol::kPublishProtocolVersion);
  }
  if (protocol::kPublishProtocolVersion < hs.min_author_version) {
    return protocol::AuthorTooOldMessage(protocol::kPublishProtocolVersion, hs.min_author_version);
  }
  return "";
}

}  // namespace

PortalIntegrationService::PortalIntegrationService(AuthorStore& store, TokenProvider& tokens,
                                                   PortalGateway& gateway,
                                                   PortalIntegrationOptions options)
    : store_(store),
      tokens_(tokens),
      gateway_(gateway),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : SystemClock()) {}

std::vector<std::string> PortalIntegrationService::AgentNames(int count) {
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) names.push_back("portal-agent-" + std::to_string(i));
  return names;
}

template <typename T, typename Fn>
StatusOr<T> PortalIntegrationService::WithToken(const std::string& tenant_url, Fn fn) {
  PORTICO_ASSIGN_OR_RETURN(std::string token, tokens_.Get());
  StatusOr<T> r = fn(token);
  if (r.ok() || r.status().code() != Code::kUnauthenticated) return r;
  tokens_.Invalidate(token);
  PORTICO_ASSIGN_OR_RETURN(token, tokens_.Get());
  return fn(token);
}

StatusOr<CloudServiceRecord> PortalIntegrationService::Create(const CloudServiceInput& in) {
  PORTICO_ASSIGN_OR_RETURN(std::string url, NormalizeTenantUrl(in.tenant_url));
  if (in.title.size() > 256) return InvalidArgument("'title' must be at most 256 bytes");
  if (auto existing = store_.GetCloudService(); existing.ok()) {
    return Status(Code::kConflict, "cloud_service_exists",
                  "this author already has a portal cloud service (" + existing->tenant_url +
                      "); an author is bound to one tenant");
  }
  PORTICO_ASSIGN_OR_RETURN(std::string author_id, store_.AuthorId());
  protocol::HandshakeRequest hreq;
  hreq.author_id = author_id;
  hreq.author_url = options_.author_url;
  hreq.bind = true;
  auto hs = WithToken<protocol::HandshakeResponse>(url, [&](const std::string& token) {
    return gateway_.Handshake({url, token, author_id}, hreq);
  });
  if (!hs.ok()) return hs.status();
  if (std::string problem = VersionProblem(*hs); !problem.empty()) {
    return Status(Code::kPreconditionFailed, "protocol_version", problem);
  }
  if (!hs->bound_author_id.empty() && hs->bound_author_id != author_id) {
    return Status(Code::kConflict, "author_already_bound",
                  "the tenant " + hs->tenant + " is bound to another author");
  }
  CloudServiceRecord rec{in.title.empty() ? "Portal " + hs->tenant : in.title, url, hs->tenant,
                         hs->org, clock_.NowSeconds()};
  PORTICO_RETURN_IF_ERROR(store_.InsertCloudService(rec, AgentNames(options_.agent_count)));
  log::Info("cloud_service_created", {{"tenant_url", url}, {"tenant", hs->tenant}});
  return rec;
}

StatusOr<CloudServiceRecord> PortalIntegrationService::Get() { return store_.GetCloudService(); }

StatusOr<std::vector<AgentRecord>> PortalIntegrationService::ListAgents() {
  return store_.ListAgents();
}

StatusOr<AgentTestResult> PortalIntegrationService::TestAgent(const std::string& name) {
  PORTICO_ASSIGN_OR_RETURN(auto cs, store_.GetCloudService());
  PORTICO_ASSIGN_OR_RETURN(auto agent, store_.GetAgent(name));
  PORTICO_ASSIGN_OR_RETURN(std::string author_id, store_.AuthorId());
  AgentTestResult result{agent.name, false, "", ""};
  auto fail = [&](const char* step, const std::string& why) {
    result.ok = false;
    result.step = step;
    result.message = std::string("test package not delivered (") + step + "): " + why;
  };
  const std::string url = cs.tenant_url;
  [&] {
    auto token = tokens_.Get();
    if (!token.ok()) return fail("token", token.status().message());
    protocol::HandshakeRequest hreq;
    hreq.author_id = author_id;
    hreq.author_url = options_.author_url;
    auto hs = WithToken<protocol::HandshakeResponse>(url, [&](const std::string& t) {
      return gateway_.Handshake({url, t, author_id}, hreq);
    });
    if (!hs.ok()) return fail("handshake", hs.status().message());
    if (std::string problem = VersionProblem(*hs); !problem.empty()) {
      return fail("version", problem);
    }
    if (hs->bound_author_id != author_id) {
      return fail("handshake", hs->bound_author_id.empty()
                                   ? "the tenant has no bound author: save the cloud service again"
                                   : "the tenant is bound to another author");
    }
    const std::string digest = crypto::Sha256Hex(protocol::kTestPackageBytes);
    auto missing = WithToken<protocol::CheckResponse>(url, [&](const std::string& t) {
      return gateway_.Check({url, t, author_id}, protocol::CheckRequest{{digest}});
    });
    if (!missing.ok()) return fail("check", missing.status().message());
    if (!missing->missing.empty()) {
      auto receipt = WithToken<protocol::BlobReceipt>(url, [&](const std::string& t) {
        return gateway_.UploadBlob({url, t, author_id}, digest, protocol::kTestPackageBytes);
      });
      if (!receipt.ok()) return fail("upload", receipt.status().message());
      if (receipt->sha256 != digest) return fail("upload", "the portal stored another digest");
    }
    protocol::CommitRequest commit;
    commit.idempotency_key = "test-" + agent.name + "-" + crypto::RandomHex(8);
    commit.dry_run = true;
    protocol::Operation op;
    op.kind = protocol::OpKind::kUpsertAsset;
    op.path = std::string(protocol::kTestPackagePath);
    op.seq = 1;
    op.title = "Portico test package";
    op.modified_at = clock_.NowSeconds();
    op.sha256 = digest;
    op.size = static_cast<int64_t>(protocol::kTestPackageBytes.size());
    op.content_type = "text/plain";
    op.version = 1;
    commit.operations.push_back(op);
    auto committed = WithToken<protocol::CommitResponse>(url, [&](const std::string& t) {
      return gateway_.Commit({url, t, author_id}, commit);
    });
    if (!committed.ok()) return fail("commit", committed.status().message());
    result.ok = true;
    result.message = kTestDeliveredMessage;
  }();
  PORTICO_RETURN_IF_ERROR(
      store_.RecordAgentTest(agent.name, clock_.NowSeconds(), result.ok, result.message));
  log::Info("agent_tested", {{"agent", agent.name}, {"ok", result.ok}, {"step", result.step}});
  return result;
}

}  // namespace portico::author

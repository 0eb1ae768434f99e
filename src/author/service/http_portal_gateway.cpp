#include <nlohmann/json.hpp>

#include "author/service/portal_gateway.h"
#include "core/json.h"

namespace portico::author {
namespace {

class HttpPortalGateway final : public PortalGateway {
 public:
  explicit HttpPortalGateway(http::ClientOptions options) : http_(options) {}

  StatusOr<protocol::HandshakeResponse> Handshake(const PortalTarget& t,
                                                  const protocol::HandshakeRequest& req) override {
    PORTICO_ASSIGN_OR_RETURN(auto j, Call(t, "POST", "/api/v1/ingest/handshake",
                                          JsonDump(protocol::ToJson(req)), "application/json"));
    return protocol::ParseHandshakeResponse(j);
  }

  StatusOr<protocol::CheckResponse> Check(const PortalTarget& t,
                                          const protocol::CheckRequest& req) override {
    PORTICO_ASSIGN_OR_RETURN(auto j, Call(t, "POST", "/api/v1/ingest/check",
                                          JsonDump(protocol::ToJson(req)), "application/json"));
    return protocol::ParseCheckResponse(j);
  }

  StatusOr<protocol::BlobReceipt> UploadBlob(const PortalTarget& t, const std::string& sha256,
                                             std::string_view bytes) override {
    PORTICO_ASSIGN_OR_RETURN(auto j, Call(t, "PUT", "/api/v1/ingest/blobs/" + sha256,
                                          std::string(bytes), "application/octet-stream"));
    return protocol::ParseBlobReceipt(j);
  }

  StatusOr<protocol::CommitResponse> Commit(const PortalTarget& t,
                                            const protocol::CommitRequest& req) override {
    PORTICO_ASSIGN_OR_RETURN(auto j, Call(t, "POST", "/api/v1/ingest/commit",
                                          JsonDump(protocol::ToJson(req)), "application/json"));
    return protocol::ParseCommitResponse(j);
  }

 private:
  StatusOr<nlohmann::json> Call(const PortalTarget& t, const char* method, const std::string& path,
                                std::string body, const char* content_type) {
    http::ClientRequest req;
    req.method = method;
    req.url = t.tenant_url + path;
    req.headers.Set("Authorization", "Bearer " + t.token);
    req.headers.Set("Content-Type", content_type);
    req.headers.Set("Accept", "application/json");
    if (!t.author_id.empty()) req.headers.Set(std::string(protocol::kAuthorHeader), t.author_id);
    req.body = std::move(body);
    auto resp = http_.Send(req);
    if (!resp.ok()) {
      return Status(
          Code::kUnavailable, "portal_unreachable",
          "the portal at " + t.tenant_url + " cannot be reached (" + resp.status().message() + ")");
    }
    PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(*resp));
    nlohmann::json j = resp->Json();
    if (j.is_null()) {
      return Status(Code::kUnavailable, "portal_bad_answer",
                    "the portal at " + t.tenant_url + " did not answer JSON for " + path);
    }
    return j;
  }

  http::HttpClient http_;
};

}  // namespace

std::unique_ptr<PortalGateway> MakeHttpPortalGateway(http::ClientOptions options) {
  return std::make_unique<HttpPortalGateway>(options);
}

}  // namespace portico::author

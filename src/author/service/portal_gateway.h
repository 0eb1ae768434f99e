// The author's view of a portal tenant's ingest API (protocol/publish.h), as an interface so the
// rules can be tested without a portal. HttpPortalGateway speaks it over HTTP; it stands in
// until the portal's own typed client (src/portal/client/portal_client.h) lands, and then simply
// wraps it. Errors are the portal's JSON errors as Status (their messages are meant for people:
// e.g. an alias URL names the tenant's real URL). Thread-safe; blocking.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/http/client.h"
#include "core/status.h"
#include "protocol/publish.h"

namespace portico::author {

// Where and as whom a call goes.
struct PortalTarget {
  std::string tenant_url;  // <portal>/t/<tenant>, no trailing slash
  std::string token;       // the author's access token
  std::string author_id;   // sent as X-Portico-Author ("" before binding)
};

class PortalGateway {
 public:
  virtual ~PortalGateway() = default;
  virtual StatusOr<protocol::HandshakeResponse> Handshake(
      const PortalTarget& target, const protocol::HandshakeRequest& req) = 0;
  virtual StatusOr<protocol::CheckResponse> Check(const PortalTarget& target,
                                                  const protocol::CheckRequest& req) = 0;
  virtual StatusOr<protocol::BlobReceipt> UploadBlob(const PortalTarget& target,
                                                     const std::string& sha256,
                                                     std::string_view bytes) = 0;
  virtual StatusOr<protocol::CommitResponse> Commit(const PortalTarget& target,
                                                    const protocol::CommitRequest& req) = 0;
};

// The HTTP implementation. Connection failures are Unavailable naming the tenant URL.
std::unique_ptr<PortalGateway> MakeHttpPortalGateway(http::ClientOptions options = {});

}  // namespace portico::author

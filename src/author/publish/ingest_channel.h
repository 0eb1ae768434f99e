// The three calls of the publish protocol (protocol/publish.h) as the engine makes them, behind an
// interface so the engine's rules are tested without a portal. The real one wraps the portal's
// typed client (portal/client/portal_client.h). Errors are the portal's JSON errors as Status, or
// Unavailable/Timeout when it cannot be reached.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "author/publish/publish_source.h"
#include "core/status.h"
#include "protocol/publish.h"
#include "store/blob_store.h"

namespace portico::author::publish {

// Called while an upload runs, after each piece sent (bytes so far); a non-OK status aborts it.
using UploadProgress = std::function<Status(int64_t sent)>;

// One channel serves one worker: not thread-safe. Every call blocks on the network.
class IngestChannel {
 public:
  virtual ~IngestChannel() = default;
  virtual StatusOr<protocol::CheckResponse> Check(const std::string& token,
                                                  const protocol::CheckRequest& request) = 0;
  // Streams `size` bytes of `blob` (positioned at its start) as blob `sha256`.
  virtual StatusOr<protocol::BlobReceipt> Upload(const std::string& token,
                                                 const std::string& sha256, store::BlobReader& blob,
                                                 int64_t size, const UploadProgress& progress) = 0;
  virtual StatusOr<protocol::CommitResponse> Commit(const std::string& token,
                                                    const protocol::CommitRequest& request) = 0;
};

// Makes a channel to `target` (a new one per worker and per target change).
using IngestChannelFactory =
    std::function<std::unique_ptr<IngestChannel>(const PublishTarget& target)>;

// Channels over HTTP with portal::PortalClient.
IngestChannelFactory HttpIngestChannelFactory();

}  // namespace portico::author::publish

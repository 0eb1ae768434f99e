#include <signal.h>

#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "author/publish/ingest_channel.h"
#include "core/http/client.h"
#include "portal/client/portal_client.h"

namespace portico::author::publish {
namespace {

// Fault injection for the crash tests (tests/integration/publish_crash_test.cpp): when the
// environment variable PORTICO_FAULT_KILL_AT names `point` (before_check, mid_upload,
// before_commit, after_commit), the process kills itself there with SIGKILL, exactly as
// `kill -9` would at that moment. Unset in normal runs; read once.
void FaultPoint(std::string_view point) {
  static const std::string wanted = [] {
    const char* v = std::getenv("PORTICO_FAULT_KILL_AT");
    return std::string(v != nullptr ? v : "");
  }();
  if (!wanted.empty() && wanted == point) ::raise(SIGKILL);
}

// Feeds a blob reader to the HTTP client, reporting progress after each piece.
class BlobBodySource final : public http::BodySource {
 public:
  BlobBodySource(store::BlobReader& blob, const UploadProgress& progress)
      : blob_(blob), progress_(progress) {}
  StatusOr<size_t> Read(std::span<char> buf) override {
    if (sent_ > 0 && sent_ >= blob_.size() / 2) FaultPoint("mid_upload");
    PORTICO_ASSIGN_OR_RETURN(size_t n, blob_.Read(buf.data(), buf.size()));
    sent_ += static_cast<int64_t>(n);
    if (progress_) PORTICO_RETURN_IF_ERROR(progress_(sent_));
    return n;
  }

 private:
  store::BlobReader& blob_;
  const UploadProgress& progress_;
  int64_t sent_ = 0;
};

class HttpIngestChannel final : public IngestChannel {
 public:
  explicit HttpIngestChannel(const PublishTarget& target)
      : client_(target.portal_url, target.tenant) {
    client_.SetAuthorId(target.author_id);
  }
  StatusOr<protocol::CheckResponse> Check(const std::string& token,
                                          const protocol::CheckRequest& request) override {
    FaultPoint("before_check");
    client_.SetToken(token);
    return client_.Check(request);
  }
  StatusOr<protocol::BlobReceipt> Upload(const std::string& token, const std::string& sha256,
                                         store::BlobReader& blob, int64_t size,
                                         const UploadProgress& progress) override {
    client_.SetToken(token);
    BlobBodySource source(blob, progress);
    return client_.UploadBlob(sha256, source, static_cast<uint64_t>(size));
  }
  StatusOr<protocol::CommitResponse> Commit(const std::string& token,
                                            const protocol::CommitRequest& request) override {
    if (!request.dry_run) FaultPoint("before_commit");
    client_.SetToken(token);
    auto committed = client_.Commit(request);
    if (committed.ok() && !request.dry_run) FaultPoint("after_commit");
    return committed;
  }

 private:
  portal::PortalClient client_;
};

}  // namespace

IngestChannelFactory HttpIngestChannelFactory() {
  return [](const PublishTarget& target) -> std::unique_ptr<IngestChannel> {
    return std::make_unique<HttpIngestChannel>(target);
  };
}

std::optional<std::pair<std::string, std::string>> SplitTenantUrl(const std::string& tenant_url) {
  std::string url = tenant_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  size_t pos = url.rfind("/t/");
  if (pos == std::string::npos || pos == 0 || pos + 3 >= url.size()) return std::nullopt;
  std::string tenant = url.substr(pos + 3);
  if (tenant.find('/') != std::string::npos) return std::nullopt;
  return std::make_pair(url.substr(0, pos), tenant);
}

}  // namespace portico::author::publish

// One worker's delivery of one claimed batch of items (internal to the publishing engine): check
// the digests, upload the missing blobs, commit one manifest, and complete or fail each job.
// Not thread-safe: one per worker step.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "author/publish/ingest_channel.h"
#include "author/publish/publish_source.h"
#include "author/publish/publish_store.h"
#include "author/service/token_provider.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/blob_store.h"
#include "store/job_queue.h"

namespace portico::author::publish {

struct BatchEntry {
  store::Job job;
  ItemRecord item;
  bool settled = false;  // completed or failed in this step
};

struct BatchDeps {
  store::JobQueue& queue;
  PublishStore& store;
  TokenProvider& tokens;
  store::BlobStore& blobs;
  const Clock& clock;
  std::chrono::milliseconds lease;
};

class BatchDelivery {
 public:
  // `lanes`: further channels to the same target; the missing blobs of a batch are uploaded
  // over `channel` and these at once (one blob per channel at a time). Empty: one at a time.
  BatchDelivery(const BatchDeps& deps, IngestChannel& channel, const PublishTarget& target,
                std::string worker_id, std::vector<IngestChannel*> lanes = {})
      : d_(deps),
        channel_(channel),
        target_(target),
        worker_id_(std::move(worker_id)),
        lanes_(std::move(lanes)) {}

  // Delivers `entries` (jobs running for this worker) and settles every one of them: Complete
  // when the portal has it, Fail with the reason otherwise. The completions and the counters of
  // blobs and bytes sent are recorded together at the end, in one transaction.
  void Deliver(std::vector<BatchEntry>& entries);

  // The idempotency key of a commit of `entries`: the same jobs with the same operations always
  // give the same key, any other set another one.
  static std::string CommitKey(const std::string& author_id,
                               const std::vector<BatchEntry*>& entries);
  // The protocol operation of an item.
  static protocol::Operation OperationFor(const ItemRecord& item);

 private:
  // One blob to upload and, once a lane has tried, how it went.
  struct Upload {
    std::string digest;
    std::vector<BatchEntry*> users;
    enum class Outcome { kNotTried, kSent, kRefused, kFailed } outcome = Outcome::kNotTried;
    std::string why;  // kRefused, kFailed
    int64_t size = 0;
  };

  template <typename T, typename Fn>
  StatusOr<T> WithToken(Fn fn);
  // Uploads one blob over `channel` and records the outcome in `u`. Thread-safe with respect to
  // other lanes (they touch other Uploads; heartbeats are serialized).
  void UploadOne(IngestChannel& channel, Upload& u, const std::vector<BatchEntry*>& open);
  void DeliverOpen(std::vector<BatchEntry*>& open);
  // Records the completed jobs and the counters of what was sent, in one transaction.
  void Settle();
  // Uploads what check says is missing; settles the entries whose blob cannot be sent. False when
  // the whole batch was failed (or lost) and delivery must stop.
  bool UploadMissing(std::vector<BatchEntry*>& open, const std::vector<std::string>& missing);
  void Commit(std::vector<BatchEntry*> entries);
  // Heartbeats every open job if a third of the lease passed since the last one; false if a lease
  // was lost (another worker owns the batch now).
  bool MaybeHeartbeat(const std::vector<BatchEntry*>& open);
  void FailAll(std::vector<BatchEntry*>& open, const std::string& why);
  void Fail(BatchEntry& e, const std::string& why);
  void Complete(BatchEntry& e);

  const BatchDeps& d_;
  IngestChannel& channel_;
  const PublishTarget& target_;
  std::string worker_id_;
  std::vector<IngestChannel*> lanes_;
  std::mutex heartbeat_mu_;  // lanes heartbeat from their threads
  int64_t last_heartbeat_ms_ = 0;
  std::atomic<bool> lost_{false};
  std::vector<int64_t> completed_;     // jobs to mark done in Settle
  std::map<int64_t, SentCount> sent_;  // per request: what this batch uploaded
};

// Whether a failure says the portal refused the content (split the batch to find the item), as
// opposed to the portal or the network being unavailable (retry the whole batch later).
bool IsContentRefusal(const Status& status);

}  // namespace portico::author::publish

// The author's publishing engine (SPEC A5, assets and folders). A request publishes or unpublishes
// some paths now or at a set time. When it starts it is expanded into items — one per folder and
// asset below a published folder, as they are at that moment (the snapshot), or one delete per
// unpublished path — spread round-robin over the agents. Each item is a job of the JobQueue in the
// agent's queue, so it has its own attempts, backoff, lease and parking, and a failing item never
// holds up another.
//
// Workers of each agent (PublishOptions::agent_workers) claim batches of its items and run the
// protocol (protocol/publish.h):
// check the digests, upload only the missing blobs (heartbeating the lease while bytes flow),
// commit one manifest whose idempotency key is derived from the batch's jobs and operations (so a
// retried batch is applied once), then completes the jobs. A commit the portal refuses as invalid
// is split until the offending items are alone; transport failures fail the batch with backoff.
// Every operation of a request carries the request's seq, above every earlier request's and every
// change the author had made when it started, so the portal keeps the latest snapshot whatever
// order agents deliver in. See docs/decisions.md "Publishing engine".
//
// Thread-safe. Every method blocks on the database (and the workers on the network); Start runs
// the scheduler and workers on threads of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "author/publish/ingest_channel.h"
#include "author/publish/publish_source.h"
#include "author/publish/publish_store.h"
#include "author/service/token_provider.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/blob_store.h"
#include "store/job_queue.h"
#include "store/sql.h"

namespace portico::author::publish {

inline constexpr std::string_view kItemJobKind = "publish_item";

struct PublishOptions {
  // The ranges Create accepts (the CLI checks its settings against the same).
  static constexpr int kMaxUploadLanes = 16;
  static constexpr int kMaxAgentWorkers = 8;

  int max_attempts = 5;   // claims before an item parks
  int batch_items = 100;  // items a worker takes at once (1..1000)
  // Blobs of a batch one worker uploads at once, each on its own connection (1..16).
  int upload_lanes = 4;
  // Workers per agent, each with its own batch and connections (1..8): while one waits for the
  // portal to commit its batch, another checks and uploads the next.
  int agent_workers = 2;
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  std::chrono::milliseconds idle_poll{std::chrono::milliseconds(200)};
  store::JobQueueOptions queue;  // backoff of failed items
  const Clock* clock = nullptr;  // default: the system clock
  std::string worker_prefix;     // default: <host>:<pid>:<random>
};

// One item as shown to people.
struct ItemStatus {
  int64_t id = 0;
  std::string path;
  std::string kind;  // folder | asset | delete
  std::string agent;
  std::string state;  // queued | sending | delivered | retrying | parked | failed
  int attempts = 0;
  std::optional<std::string> last_error;
  std::optional<int64_t> next_attempt_ms;  // while queued or retrying
  int64_t size = 0;
  std::string sha256;
};

struct RequestStatus {
  RequestRecord request;
  std::vector<ItemStatus> items;
  std::map<std::string, int64_t> totals;  // per state, and "total"
  bool done = false;                      // started and every item delivered, parked or failed
};

class PublishService {
 public:
  // Opens the engine on the author's database `db` (applying the "author_publish" and
  // "job_queue" migrations). Every reference must outlive the service.
  static StatusOr<std::unique_ptr<PublishService>> Create(
      store::SqlDatabase& db, PublishSource& source, PublishTargetSource& target,
      TokenProvider& tokens, store::BlobStore& blobs, IngestChannelFactory channels,
      PublishOptions options = {});
  ~PublishService();

  // Creates a request for `paths` (each normalized with protocol::NormalizeDamPath; 400 naming a
  // bad one). A publish of a path that is neither folder nor asset is refused with 404
  // unknown_path naming every such path, and nothing is queued; an unpublish may name paths the
  // author no longer has. 412 no_cloud_service while no portal is configured. Without `run_at_ms`
  // (or with a time already past) the request starts at once: its items are queued when this
  // returns; otherwise it starts at that time (expanding what exists then).
  StatusOr<RequestRecord> Publish(const std::vector<std::string>& paths, PublishAction action,
                                  std::optional<int64_t> run_at_ms = std::nullopt);

  // The request and every item with its state (without `with_items`: the totals and done only,
  // counted in the database without reading the items, for polling). 404 unknown_request.
  StatusOr<RequestStatus> GetStatus(int64_t request_id, bool with_items = true);
  // The newest requests first (limit 1..1000).
  StatusOr<std::vector<RequestRecord>> List(int limit);
  // Queues again every parked item of the request (attempts reset); returns how many.
  StatusOr<int> RetryRequest(int64_t request_id);
  // Queues again one parked item. 404 unknown_item, 412 when it is not parked.
  Status RetryItem(int64_t item_id);

  // The scheduler's step: starts the requests that are due and queues items left without a job
  // by a crash. Returns how many requests started.
  StatusOr<int> RunSchedulerOnce();
  // One step of worker `worker` (0..agent_workers-1) of `agent`: claims a batch of its due items
  // and delivers it. Returns how many items it claimed (0 when nothing was due). Only one thread
  // may run a given worker at a time; different workers of one agent may run at once.
  StatusOr<int> RunAgentOnce(const std::string& agent, int worker = 0);

  // Starts the scheduler thread, which starts agent_workers worker threads per agent of the
  // target as agents appear. Idempotent.
  void Start();
  // Stops the threads (a batch in flight is abandoned; its leases expire and it is taken again).
  void Stop();

  store::JobQueue& queue() { return *queue_; }

 private:
  PublishService(store::SqlDatabase& db, PublishSource& source, PublishTargetSource& target,
                 TokenProvider& tokens, store::BlobStore& blobs, IngestChannelFactory channels,
                 PublishOptions options);

  struct AgentState;
  // Expands a scheduled request and queues its items (serialized by expand_mu_).
  Status StartRequest(const RequestRecord& request);
  Status QueueItems(const std::vector<ItemRecord>& items);
  // The jobs of `items` (those without error or job), made in `session`; one id per item (0: none).
  StatusOr<std::vector<int64_t>> MakeJobs(store::SqlSession& session,
                                          const std::vector<ItemRecord>& items);
  AgentState& Agent(const std::string& agent, int worker);
  void SchedulerLoop();
  void WorkerLoop(std::string agent, int worker);
  // Sleeps up to `d` unless stopping; false when stopping.
  bool Sleep(std::chrono::milliseconds d);
  // Wakes sleeping workers and the scheduler (new work).
  void Wake();

  store::SqlDatabase& db_;
  PublishSource& source_;
  PublishTargetSource& target_;
  TokenProvider& tokens_;
  store::BlobStore& blobs_;
  IngestChannelFactory channels_;
  PublishOptions options_;
  const Clock& clock_;
  std::unique_ptr<PublishStore> store_;
  std::unique_ptr<store::JobQueue> queue_;

  std::mutex expand_mu_;
  std::mutex agents_mu_;
  std::map<std::pair<std::string, int>, std::unique_ptr<AgentState>> agents_;  // per worker

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
  bool stopping_ = false;
  uint64_t wake_ = 0;
  std::thread scheduler_;
  std::map<std::pair<std::string, int>, std::thread> workers_;  // (agent, worker)
};

}  // namespace portico::author::publish

// A durable job queue in a service's own database (SqlDatabase, so SQLite or PostgreSQL).
//
// A job is a kind (what to do), a JSON payload (what to do it to) and a queue name (a partition,
// e.g. one agent's work). Workers claim due jobs with a lease, extend it with heartbeats while
// they work, and then complete or fail the job. A failed job is retried after an exponential
// backoff with jitter until it has used max_attempts, then parked with its last error visible
// until an operator retries it. A worker that dies (kill -9, power cut) simply stops
// heartbeating: when its lease expires the job is claimed again, and that lost attempt counts.
// Delivery is at least once, so job effects must be idempotent.
//
// Times are integer Unix milliseconds from the injected Clock (leases and backoffs of a few
// seconds need finer steps than the seconds used elsewhere); columns carry an `_ms` suffix.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/sql.h"

namespace portico::store {

// Where a job is in its life:
//   queued   → running (claimed) → done
//                               → retrying (failed, attempts left) → running ...
//                               → parked (failed with no attempts left) → queued (Retry)
// A running job whose lease expired is claimed again (or parked if it has no attempts left).
enum class JobState { kQueued, kRunning, kRetrying, kDone, kParked };

// "queued", "running", "retrying", "done", "parked": the stored and displayed form.
std::string_view JobStateName(JobState state);
// The state named `name`, or nullopt.
std::optional<JobState> ParseJobState(std::string_view name);

// One job as stored.
struct Job {
  int64_t id = 0;
  std::string queue;
  std::string kind;
  std::string payload_json;
  JobState state = JobState::kQueued;
  int attempts = 0;  // claims so far, including the current one while running
  int max_attempts = 0;
  int64_t run_at_ms = 0;                    // due time while queued or retrying
  std::optional<std::string> worker_id;     // the current (running) or last owner
  std::optional<int64_t> lease_expires_ms;  // while running
  std::optional<std::string> last_error;    // the latest failure or lost lease; kept after success
  std::optional<std::string> dedupe_key;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::optional<int64_t> finished_ms;  // when it became done or parked
};

struct EnqueueOptions {
  // The partition the job belongs to (e.g. an agent's name); "" is the default queue.
  std::string queue;
  // Not claimed before this time; nullopt means now.
  std::optional<int64_t> run_at_ms;
  // Claims allowed before the job parks (at least 1).
  int max_attempts = 5;
  // While a job of the same kind with this key is queued, running or retrying, Enqueue returns
  // that job's id instead of adding another. A running job still counts, so a job whose input may
  // change while it runs should read the latest state when it runs.
  std::optional<std::string> dedupe_key;
};

// One job of a bulk enqueue (JobQueue::EnqueueMany).
struct JobSpec {
  std::string payload_json;
  EnqueueOptions options;
};

struct ClaimOptions {
  std::string worker_id;             // unique per worker instance, e.g. "<host>:<pid>:<thread>"
  std::optional<std::string> queue;  // only this queue; nullopt: any queue
  std::vector<std::string> kinds;    // only these kinds; empty: any kind
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  int limit = 1;  // at most this many jobs (1..1000)
};

struct JobFilter {
  std::optional<JobState> state;
  std::optional<std::string> kind;
  std::optional<std::string> queue;
  int64_t after_id = 0;  // paging: jobs with a larger id, in increasing id order
  int limit = 100;       // 1..1000
};

struct JobQueueOptions {
  // The delay before retry n (n = 1 after the first failure) is min(cap, base * 2^(n-1)),
  // shortened by a random fraction of up to `jitter` (0..1) so failures do not retry in step.
  std::chrono::milliseconds backoff_base{std::chrono::seconds(10)};
  std::chrono::milliseconds backoff_cap{std::chrono::hours(1)};
  double jitter = 0.2;
};

// Thread-safe: any number of threads (and processes sharing the database) may call any method at
// once. Every method blocks on the database; run it on the blocking pool. Errors from the
// database pass through (Unavailable when it stays busy, Internal for faults).
class JobQueue {
 public:
  // The queue's schema, applied under the migration component "job_queue" (kept apart from the
  // service's own versions so it evolves once for every service). Open applies it.
  static std::span<const Migration> Migrations();

  // Applies Migrations() to `db` and returns a queue on it. `db` and `clock` are not owned and
  // must outlive the queue. Fails with InvalidArgument for bad options, or the migration's error.
  static StatusOr<std::unique_ptr<JobQueue>> Open(SqlDatabase& db, const Clock& clock,
                                                  JobQueueOptions options = {});

  // Adds a job and returns its id (or, with a dedupe key, the id of the unfinished job that
  // already holds it). Fails with InvalidArgument for an empty or over-long kind, queue or key, a
  // payload that is not JSON, or max_attempts < 1.
  StatusOr<int64_t> Enqueue(std::string_view kind, std::string_view payload_json,
                            const EnqueueOptions& options = {});

  // Adds `jobs` of `kind` inside the caller's write transaction `session` (which must belong to
  // this queue's database), with multi-row inserts: thousands of jobs cost a few statements, and
  // they become visible with the caller's own rows, or not at all. Returns the ids in the order of
  // `jobs` (with a dedupe key, the id of the unfinished job holding it, as Enqueue does).
  // Validation and errors as for Enqueue; after a failure the caller's transaction is aborted.
  StatusOr<std::vector<int64_t>> EnqueueMany(SqlSession& session, std::string_view kind,
                                             std::span<const JobSpec> jobs);

  // Atomically takes up to `limit` due jobs, oldest due first: queued or retrying jobs whose
  // run_at has come, and running jobs whose lease expired. Each becomes running, owned by
  // `worker_id` until now + lease, with one more attempt. Two claimers never get the same job.
  // An expired job with no attempts left is parked instead (its worker died on every attempt).
  // Returns an empty list when nothing is due. InvalidArgument for an empty worker id, a lease
  // below 1 ms, or a limit outside 1..1000.
  StatusOr<std::vector<Job>> Claim(const ClaimOptions& options);

  // Extends the lease of running job `id` owned by `worker_id` to now + lease. A lease that
  // expired but was not yet claimed by another worker is still held. Fails with Conflict (error
  // id "lease_lost") if the job is no longer running for this worker, NotFound if there is no
  // such job.
  Status Heartbeat(int64_t id, std::string_view worker_id, std::chrono::milliseconds lease);

  // Marks running job `id` of `worker_id` done. Errors as for Heartbeat; a worker that lost the
  // job changes nothing.
  Status Complete(int64_t id, std::string_view worker_id);

  // Complete for many jobs of `worker_id` at once, inside the caller's write transaction
  // `session` (so the caller's own bookkeeping commits with the jobs' new state). Returns the ids
  // that became done; the others were no longer running for this worker (lost leases, unknown
  // ids) and are left as they are.
  StatusOr<std::vector<int64_t>> CompleteMany(SqlSession& session, std::span<const int64_t> ids,
                                              std::string_view worker_id);

  // Records a failed attempt of running job `id` of `worker_id` with `error` (truncated to 2000
  // bytes, invalid UTF-8 replaced): retrying after the backoff if attempts remain, else parked.
  // Returns the job's new state. Errors as for Heartbeat.
  StatusOr<JobState> Fail(int64_t id, std::string_view worker_id, std::string_view error);

  // Puts parked job `id` back in the queue, due now, with its attempts reset to 0 (the last error
  // stays visible until the next failure). PreconditionFailed if it is not parked, NotFound if
  // there is no such job, Conflict if an unfinished job has taken its dedupe key meanwhile.
  Status Retry(int64_t id);

  // Job `id`, or NotFound.
  StatusOr<Job> Get(int64_t id);

  // The jobs matching `filter`, by increasing id. InvalidArgument for a limit outside 1..1000.
  StatusOr<std::vector<Job>> List(const JobFilter& filter);

  // How many jobs are in each state (every state present, 0 if none), in one queue or in all.
  StatusOr<std::map<JobState, int64_t>> CountByState(std::optional<std::string> queue = {});

  // Deletes done jobs that finished before `finished_before_ms`; returns how many.
  StatusOr<int64_t> PruneDone(int64_t finished_before_ms);

 private:
  JobQueue(SqlDatabase& db, const Clock& clock, JobQueueOptions options)
      : db_(db), clock_(clock), options_(options) {}

  // The delay before retrying after failed attempt `attempts` (1 = first).
  int64_t BackoffMillis(int attempts) const;

  SqlDatabase& db_;
  const Clock& clock_;
  const JobQueueOptions options_;
};

}  // namespace portico::store

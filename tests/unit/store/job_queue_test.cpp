#include "store/job_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "status_matchers.h"
#include "store/sqlite_database.h"
#include "temp_directory.h"

namespace portico::store {
namespace {

using testing::IsOk;

using std::chrono::milliseconds;
using std::chrono::seconds;

class JobQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions sqlite;
    sqlite.path = dir_.path() / "service.db";
    StatusOr<std::unique_ptr<SqlDatabase>> db = OpenSqlite(sqlite);
    ASSERT_OK(db.status());
    db_ = std::move(db).value();
    queue_ = OpenQueue({.backoff_base = seconds(1), .backoff_cap = seconds(8), .jitter = 0});
    ASSERT_NE(queue_, nullptr);
  }

  std::unique_ptr<JobQueue> OpenQueue(JobQueueOptions options) {
    StatusOr<std::unique_ptr<JobQueue>> queue = JobQueue::Open(*db_, clock_, options);
    EXPECT_TRUE(IsOk(queue.status()));
    return queue.ok() ? std::move(queue).value() : nullptr;
  }

  int64_t Add(std::string_view kind = "render", const EnqueueOptions& options = {}) {
    StatusOr<int64_t> id = queue_->Enqueue(kind, R"({"asset":"a1"})", options);
    EXPECT_TRUE(IsOk(id.status()));
    return id.ok() ? *id : -1;
  }

  // Claims at most one job for `worker`; nullopt if none is due.
  std::optional<Job> ClaimOne(const std::string& worker, milliseconds lease = seconds(30),
                              JobQueue* queue = nullptr) {
    StatusOr<std::vector<Job>> jobs =
        (queue ? queue : queue_.get())->Claim({.worker_id = worker, .lease = lease});
    EXPECT_TRUE(IsOk(jobs.status()));
    if (!jobs.ok() || jobs->empty()) return std::nullopt;
    EXPECT_EQ(jobs->size(), 1u);
    return jobs->front();
  }

  Job GetJob(int64_t id) {
    StatusOr<Job> job = queue_->Get(id);
    EXPECT_TRUE(IsOk(job.status()));
    return job.ok() ? *job : Job{};
  }

  testing::TempDirectory dir_;  // declared first: outlives the database
  FakeClock clock_;
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<JobQueue> queue_;
};

TEST_F(JobQueueTest, StateNamesRoundTrip) {
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kRetrying,
                         JobState::kDone, JobState::kParked}) {
    EXPECT_EQ(ParseJobState(JobStateName(state)), state);
  }
  EXPECT_EQ(JobStateName(JobState::kParked), "parked");
  EXPECT_EQ(ParseJobState("finished"), std::nullopt);
}

TEST_F(JobQueueTest, ClaimThenComplete) {
  const int64_t start = clock_.NowMillis();
  const int64_t id = Add();
  Job queued = GetJob(id);
  EXPECT_EQ(queued.state, JobState::kQueued);
  EXPECT_EQ(queued.attempts, 0);
  EXPECT_EQ(queued.run_at_ms, start);
  EXPECT_EQ(queued.payload_json, R"({"asset":"a1"})");

  std::optional<Job> job = ClaimOne("w1", seconds(30));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->id, id);
  EXPECT_EQ(job->kind, "render");
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->worker_id, "w1");
  EXPECT_EQ(job->lease_expires_ms, start + 30'000);
  EXPECT_FALSE(ClaimOne("w2").has_value());  // already taken

  clock_.Advance(seconds(5));
  ASSERT_OK(queue_->Complete(id, "w1"));
  Job done = GetJob(id);
  EXPECT_EQ(done.state, JobState::kDone);
  EXPECT_EQ(done.finished_ms, start + 5'000);
  EXPECT_EQ(done.lease_expires_ms, std::nullopt);
  EXPECT_EQ(queue_->Complete(id, "w1").error(), "lease_lost");
  clock_.Advance(std::chrono::hours(1));
  EXPECT_FALSE(ClaimOne("w2").has_value());  // done jobs never come back
}

TEST_F(JobQueueTest, EnqueueManyInTheCallersTransactionThenCompleteMany) {
  std::vector<JobSpec> specs;
  for (int i = 0; i < 300; ++i) {
    JobSpec spec;
    spec.payload_json = "{\"n\":" + std::to_string(i) + "}";
    spec.options.queue = i % 2 ? "odd" : "even";
    if (i % 3 != 0) spec.options.dedupe_key = "k" + std::to_string(i);
    specs.push_back(std::move(spec));
  }
  // A key already held by an unfinished job gives that job back.
  const int64_t holder = Add("render", {.dedupe_key = "k1"});
  std::vector<int64_t> ids;
  ASSERT_OK(db_->Transaction([&](SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(ids, queue_->EnqueueMany(s, "render", specs));
    return Status::Ok();
  }));
  ASSERT_EQ(ids.size(), specs.size());
  EXPECT_EQ(ids[1], holder);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i == 1) continue;
    Job job = GetJob(ids[i]);
    EXPECT_EQ(job.payload_json, specs[i].payload_json) << i;
    EXPECT_EQ(job.queue, specs[i].options.queue) << i;
    EXPECT_EQ(job.state, JobState::kQueued);
  }
  // A rolled-back transaction leaves no job.
  const auto before = queue_->CountByState();
  ASSERT_OK(before.status());
  EXPECT_FALSE(db_->Transaction([&](SqlSession& s) -> Status {
                    PORTICO_RETURN_IF_ERROR(queue_->EnqueueMany(s, "other", specs).status());
                    return Internal("roll back");
                  })
                   .ok());
  EXPECT_EQ(*queue_->CountByState(), *before);
  EXPECT_FALSE(db_->Transaction([&](SqlSession& s) -> Status {
                    std::vector<JobSpec> bad(1);
                    bad[0].payload_json = "not json";
                    return queue_->EnqueueMany(s, "render", bad).status();
                  })
                   .ok());

  StatusOr<std::vector<Job>> claimed =
      queue_->Claim({.worker_id = "w1", .queue = "odd", .lease = seconds(30), .limit = 7});
  ASSERT_OK(claimed.status());
  ASSERT_EQ(claimed->size(), 7u);
  std::vector<int64_t> mine;
  for (const auto& j : *claimed) mine.push_back(j.id);
  std::vector<int64_t> asked = mine;
  asked.push_back(ids[0]);  // queued, not running for w1: left alone
  std::vector<int64_t> done;
  ASSERT_OK(db_->Transaction([&](SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(done, queue_->CompleteMany(s, asked, "w1"));
    return Status::Ok();
  }));
  std::sort(done.begin(), done.end());
  std::sort(mine.begin(), mine.end());
  EXPECT_EQ(done, mine);
  for (int64_t id : mine) EXPECT_EQ(GetJob(id).state, JobState::kDone);
  EXPECT_EQ(GetJob(ids[0]).state, JobState::kQueued);
}

TEST_F(JobQueueTest, BackoffDoublesUpToTheCap) {
  const int64_t id = Add("render", {.max_attempts = 10});
  // base 1 s, cap 8 s, no jitter.
  for (int64_t expected_ms : {1000, 2000, 4000, 8000, 8000, 8000}) {
    SCOPED_TRACE(expected_ms);
    std::optional<Job> job = ClaimOne("w1");
    ASSERT_TRUE(job.has_value());
    StatusOr<JobState> state = queue_->Fail(id, "w1", "upstream timed out");
    ASSERT_OK(state.status());
    EXPECT_EQ(*state, JobState::kRetrying);
    Job retrying = GetJob(id);
    EXPECT_EQ(retrying.state, JobState::kRetrying);
    EXPECT_EQ(retrying.run_at_ms, clock_.NowMillis() + expected_ms);
    EXPECT_EQ(retrying.last_error, "upstream timed out");

    clock_.Advance(milliseconds(expected_ms - 1));
    EXPECT_FALSE(ClaimOne("w1").has_value());  // not before the backoff has passed
    clock_.Advance(milliseconds(1));
  }
  EXPECT_EQ(GetJob(id).attempts, 6);
}

TEST_F(JobQueueTest, JitterShortensTheBackoffWithinItsFraction) {
  std::unique_ptr<JobQueue> jittery =
      OpenQueue({.backoff_base = seconds(10), .backoff_cap = seconds(60), .jitter = 0.5});
  ASSERT_NE(jittery, nullptr);
  std::set<int64_t> delays;
  for (int i = 0; i < 20; ++i) {
    StatusOr<int64_t> id = jittery->Enqueue("render", "{}");
    ASSERT_OK(id.status());
    ASSERT_TRUE(ClaimOne("w1", seconds(30), jittery.get()).has_value());
    ASSERT_OK(jittery->Fail(*id, "w1", "flaky").status());
    StatusOr<Job> job = jittery->Get(*id);
    ASSERT_OK(job.status());
    const int64_t delay = job->run_at_ms - clock_.NowMillis();
    EXPECT_GE(delay, 5'000);
    EXPECT_LE(delay, 10'000);
    delays.insert(delay);
  }
  EXPECT_GT(delays.size(), 1u);  // retries do not march in step
}

TEST_F(JobQueueTest, ParksAfterMaxAttemptsAndRetriesByCommand) {
  const int64_t id = Add("render", {.max_attempts = 3});
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::optional<Job> job = ClaimOne("w1");
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->attempts, attempt);
    StatusOr<JobState> state = queue_->Fail(id, "w1", "boom " + std::to_string(attempt));
    ASSERT_OK(state.status());
    EXPECT_EQ(*state, attempt < 3 ? JobState::kRetrying : JobState::kParked);
    clock_.Advance(seconds(10));
  }
  Job parked = GetJob(id);
  EXPECT_EQ(parked.state, JobState::kParked);
  EXPECT_EQ(parked.attempts, 3);
  EXPECT_EQ(parked.last_error, "boom 3");
  EXPECT_TRUE(parked.finished_ms.has_value());
  clock_.Advance(std::chrono::hours(24));
  EXPECT_FALSE(ClaimOne("w1").has_value());  // parked jobs wait for a person

  ASSERT_OK(queue_->Retry(id));
  Job requeued = GetJob(id);
  EXPECT_EQ(requeued.state, JobState::kQueued);
  EXPECT_EQ(requeued.attempts, 0);
  EXPECT_EQ(requeued.run_at_ms, clock_.NowMillis());
  EXPECT_EQ(requeued.last_error, "boom 3");  // still visible until the next failure
  EXPECT_EQ(requeued.finished_ms, std::nullopt);
  EXPECT_EQ(queue_->Retry(id).code(), Code::kPreconditionFailed);

  std::optional<Job> again = ClaimOne("w2");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 1);
  ASSERT_OK(queue_->Complete(id, "w2"));
}

TEST_F(JobQueueTest, ExpiredLeaseIsClaimedAgain) {
  const int64_t id = Add();
  ASSERT_TRUE(ClaimOne("w1", seconds(30)).has_value());
  // w1 is killed with -9: it never heartbeats, completes or fails.
  clock_.Advance(milliseconds(29'999));
  EXPECT_FALSE(ClaimOne("w2").has_value());
  clock_.Advance(milliseconds(1));
  std::optional<Job> job = ClaimOne("w2", seconds(30));
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->id, id);
  EXPECT_EQ(job->worker_id, "w2");
  EXPECT_EQ(job->attempts, 2);  // the lost attempt counts
  ASSERT_TRUE(job->last_error.has_value());
  EXPECT_NE(job->last_error->find("w1"), std::string::npos);
  EXPECT_NE(job->last_error->find("expired"), std::string::npos);
}

TEST_F(JobQueueTest, StaleWorkerCannotClobberTheNewOwner) {
  const int64_t id = Add();
  ASSERT_TRUE(ClaimOne("w1", seconds(30)).has_value());
  clock_.Advance(seconds(31));
  ASSERT_TRUE(ClaimOne("w2", seconds(30)).has_value());

  // w1 wakes up from a long pause and reports.
  Status completed = queue_->Complete(id, "w1");
  EXPECT_EQ(completed.code(), Code::kConflict);
  EXPECT_EQ(completed.error(), "lease_lost");
  EXPECT_EQ(queue_->Fail(id, "w1", "late").status().error(), "lease_lost");
  EXPECT_EQ(queue_->Heartbeat(id, "w1", seconds(30)).error(), "lease_lost");
  Job job = GetJob(id);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.worker_id, "w2");
  EXPECT_EQ(job.lease_expires_ms, clock_.NowMillis() + 30'000);

  ASSERT_OK(queue_->Complete(id, "w2"));
  EXPECT_EQ(queue_->Fail(id, "w1", "late").status().error(), "lease_lost");
  EXPECT_EQ(GetJob(id).state, JobState::kDone);
}

TEST_F(JobQueueTest, HeartbeatKeepsTheJob) {
  const int64_t id = Add();
  ASSERT_TRUE(ClaimOne("w1", seconds(30)).has_value());
  clock_.Advance(seconds(20));
  ASSERT_OK(queue_->Heartbeat(id, "w1", seconds(30)));
  clock_.Advance(seconds(20));  // 40 s after the claim: past the first lease
  EXPECT_FALSE(ClaimOne("w2").has_value());
  clock_.Advance(seconds(10));
  EXPECT_TRUE(ClaimOne("w2").has_value());
}

TEST_F(JobQueueTest, WorkerThatDiesOnEveryAttemptGetsTheJobParked) {
  const int64_t id = Add("render", {.max_attempts = 2});
  ASSERT_TRUE(ClaimOne("w1", seconds(10)).has_value());
  clock_.Advance(seconds(11));
  ASSERT_TRUE(ClaimOne("w2", seconds(10)).has_value());
  clock_.Advance(seconds(11));
  EXPECT_FALSE(ClaimOne("w3").has_value());
  Job job = GetJob(id);
  EXPECT_EQ(job.state, JobState::kParked);
  EXPECT_EQ(job.attempts, 2);
  ASSERT_TRUE(job.last_error.has_value());
  EXPECT_NE(job.last_error->find("w2"), std::string::npos);
}

TEST_F(JobQueueTest, FutureJobIsNotClaimedEarlyAndDueJobsComeOldestFirst) {
  const int64_t later = Add("render", {.run_at_ms = clock_.NowMillis() + 60'000});
  EXPECT_FALSE(ClaimOne("w1").has_value());
  const int64_t soon = Add("render", {.run_at_ms = clock_.NowMillis() + 10'000});
  clock_.Advance(milliseconds(59'999));
  std::optional<Job> first = ClaimOne("w1");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, soon);
  EXPECT_FALSE(ClaimOne("w1").has_value());
  clock_.Advance(milliseconds(1));
  std::optional<Job> second = ClaimOne("w1");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, later);
}

TEST_F(JobQueueTest, ClaimFiltersByQueueAndKindAndHonoursLimit) {
  const int64_t a1 = Add("render", {.queue = "agent-a"});
  const int64_t a2 = Add("publish", {.queue = "agent-a"});
  const int64_t b1 = Add("render", {.queue = "agent-b"});
  const int64_t b2 = Add("render", {.queue = "agent-b"});

  StatusOr<std::vector<Job>> jobs =
      queue_->Claim({.worker_id = "w1", .queue = "agent-a", .kinds = {"publish"}, .limit = 10});
  ASSERT_OK(jobs.status());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, a2);

  jobs = queue_->Claim({.worker_id = "w1", .queue = "agent-b", .limit = 1});
  ASSERT_OK(jobs.status());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, b1);

  jobs = queue_->Claim({.worker_id = "w1", .kinds = {"render", "ingest"}, .limit = 10});
  ASSERT_OK(jobs.status());
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id, a1);
  EXPECT_EQ((*jobs)[1].id, b2);
}

TEST_F(JobQueueTest, ConcurrentClaimersNeverGetTheSameJob) {
  constexpr int kJobs = 500;
  constexpr int kThreads = 4;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_OK(queue_->Enqueue("render", "{\"n\":" + std::to_string(i) + "}").status());
  }
  std::vector<std::vector<int64_t>> claimed(kThreads);
  std::vector<Status> errors(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string worker = "w" + std::to_string(t);
      for (;;) {
        StatusOr<std::vector<Job>> jobs =
            queue_->Claim({.worker_id = worker, .lease = seconds(60), .limit = 7});
        if (!jobs.ok()) {
          errors[t] = jobs.status();
          return;
        }
        if (jobs->empty()) return;
        for (const Job& job : *jobs) {
          claimed[t].push_back(job.id);
          Status done = queue_->Complete(job.id, worker);
          if (!done.ok()) errors[t] = done;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<int64_t> unique;
  size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_OK(errors[t]);
    total += claimed[t].size();
    unique.insert(claimed[t].begin(), claimed[t].end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kJobs));
  StatusOr<std::map<JobState, int64_t>> counts = queue_->CountByState();
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->at(JobState::kDone), kJobs);
}

TEST_F(JobQueueTest, DedupeKeyReturnsTheUnfinishedJob) {
  const int64_t first = Add("reindex", {.dedupe_key = "asset-1"});
  EXPECT_EQ(Add("reindex", {.dedupe_key = "asset-1"}), first);
  EXPECT_NE(Add("reindex", {.dedupe_key = "asset-2"}), first);
  EXPECT_NE(Add("render", {.dedupe_key = "asset-1"}), first);  // another kind

  ASSERT_TRUE(ClaimOne("w1").has_value());                      // takes `first` (oldest)
  EXPECT_EQ(Add("reindex", {.dedupe_key = "asset-1"}), first);  // running still counts
  ASSERT_OK(queue_->Complete(first, "w1"));
  EXPECT_NE(Add("reindex", {.dedupe_key = "asset-1"}), first);  // done: a new job
}

TEST_F(JobQueueTest, RetryOfParkedJobWhoseKeyWasTakenIsAConflict) {
  const int64_t parked = Add("reindex", {.max_attempts = 1, .dedupe_key = "asset-1"});
  ASSERT_TRUE(ClaimOne("w1").has_value());
  StatusOr<JobState> state = queue_->Fail(parked, "w1", "bad input");
  ASSERT_OK(state.status());
  EXPECT_EQ(*state, JobState::kParked);
  const int64_t replacement = Add("reindex", {.dedupe_key = "asset-1"});
  EXPECT_NE(replacement, parked);
  EXPECT_EQ(queue_->Retry(parked).code(), Code::kConflict);
  EXPECT_EQ(GetJob(parked).state, JobState::kParked);
}

TEST_F(JobQueueTest, ListPagesAndFiltersAndCountsPerState) {
  std::vector<int64_t> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) ids.push_back(Add(i % 2 == 0 ? "render" : "publish"));
  ASSERT_TRUE(ClaimOne("w1").has_value());  // ids[0] runs

  StatusOr<std::vector<Job>> page = queue_->List({.limit = 2});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[0]);
  EXPECT_EQ((*page)[1].id, ids[1]);
  page = queue_->List({.after_id = (*page)[1].id, .limit = 10});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].id, ids[2]);

  page = queue_->List({.state = JobState::kQueued, .kind = "render"});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[2]);
  EXPECT_EQ((*page)[1].id, ids[4]);
  EXPECT_EQ(queue_->List({.limit = 0}).status().code(), Code::kInvalidArgument);

  StatusOr<std::map<JobState, int64_t>> counts = queue_->CountByState();
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->at(JobState::kQueued), 4);
  EXPECT_EQ(counts->at(JobState::kRunning), 1);
  EXPECT_EQ(counts->at(JobState::kRetrying), 0);
  EXPECT_EQ(counts->at(JobState::kDone), 0);
  EXPECT_EQ(counts->at(JobState::kParked), 0);
  counts = queue_->CountByState("no-such-queue");
  ASSERT_OK(counts.status());
  EXPECT_EQ(counts->at(JobState::kQueued), 0);
}

TEST_F(JobQueueTest, PruneDoneDeletesOnlyOldFinishedJobs) {
  const int64_t old_done = Add();
  ASSERT_TRUE(ClaimOne("w1").has_value());
  ASSERT_OK(queue_->Complete(old_done, "w1"));
  clock_.Advance(std::chrono::hours(2));
  const int64_t recent_done = Add();
  ASSERT_TRUE(ClaimOne("w1").has_value());
  ASSERT_OK(queue_->Complete(recent_done, "w1"));
  const int64_t waiting = Add();

  StatusOr<int64_t> pruned = queue_->PruneDone(clock_.NowMillis() - 3'600'000);
  ASSERT_OK(pruned.status());
  EXPECT_EQ(*pruned, 1);
  EXPECT_EQ(queue_->Get(old_done).status().code(), Code::kNotFound);
  EXPECT_OK(queue_->Get(recent_done).status());
  EXPECT_OK(queue_->Get(waiting).status());
}

TEST_F(JobQueueTest, ErrorTextIsCutAndMadeValidUtf8) {
  const int64_t id = Add();
  ASSERT_TRUE(ClaimOne("w1").has_value());
  std::string error = "bad \xff\xfe bytes \xc3\xa9 ";
  error += std::string(5000, 'x');
  ASSERT_OK(queue_->Fail(id, "w1", error).status());
  Job job = GetJob(id);
  ASSERT_TRUE(job.last_error.has_value());
  EXPECT_LE(job.last_error->size(), 2000u);
  EXPECT_EQ(job.last_error->substr(0, 17), "bad ?? bytes \xc3\xa9 x");
}

TEST_F(JobQueueTest, BadInputIsRefused) {
  EXPECT_EQ(queue_->Get(424242).status().code(), Code::kNotFound);
  EXPECT_EQ(queue_->Heartbeat(424242, "w1", seconds(30)).code(), Code::kNotFound);
  EXPECT_EQ(queue_->Complete(424242, "w1").code(), Code::kNotFound);
  EXPECT_EQ(queue_->Fail(424242, "w1", "x").status().code(), Code::kNotFound);
  EXPECT_EQ(queue_->Retry(424242).code(), Code::kNotFound);

  EXPECT_EQ(queue_->Enqueue("", "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Enqueue(std::string(200, 'k'), "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Enqueue("render", "{not json").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Enqueue("render", "{}", {.max_attempts = 0}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(queue_->Enqueue("render", "{}", {.dedupe_key = ""}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(queue_->Claim({.worker_id = ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Claim({.worker_id = "w1", .limit = 0}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(queue_->Claim({.worker_id = "w1", .lease = milliseconds(0)}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(JobQueue::Open(*db_, clock_, {.jitter = 2}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(JobQueue::Open(*db_, clock_, {.backoff_base = seconds(10), .backoff_cap = seconds(1)})
                .status()
                .code(),
            Code::kInvalidArgument);

  StatusOr<std::map<JobState, int64_t>> counts = queue_->CountByState();
  ASSERT_OK(counts.status());
  for (const auto& [state, n] : *counts) EXPECT_EQ(n, 0) << JobStateName(state);
}

TEST_F(JobQueueTest, MigrationIsItsOwnComponentAndReopeningKeepsJobs) {
  const int64_t id = Add();
  std::unique_ptr<JobQueue> reopened = OpenQueue({});
  ASSERT_NE(reopened, nullptr);
  StatusOr<Job> job = reopened->Get(id);
  ASSERT_OK(job.status());
  EXPECT_EQ(job->state, JobState::kQueued);
  StatusOr<SqlResult> recorded =
      db_->Execute("SELECT version FROM schema_migrations WHERE component = 'job_queue'");
  ASSERT_OK(recorded.status());
  ASSERT_EQ(recorded->size(), 1u);
  EXPECT_EQ((*recorded)[0].Int("version"), JobQueue::Migrations().back().version);
}

}  // namespace
}  // namespace portico::store

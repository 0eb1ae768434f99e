#include "store/job_queue.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

namespace portico::store {
namespace {

constexpr std::string_view kComponent = "job_queue";
constexpr size_t kMaxNameBytes = 128;  // kind, queue, worker id
constexpr size_t kMaxDedupeBytes = 512;
constexpr size_t kMaxErrorBytes = 2000;
constexpr int kMaxLimit = 1000;

const std::array<Migration, 1> kMigrations = {Migration{1, "queue_jobs",
                                                        R"sql(
CREATE TABLE queue_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'retrying', 'done', 'parked')),
  attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, run_at_ms INTEGER NOT NULL,
  worker_id TEXT, lease_expires_ms INTEGER, last_error TEXT, dedupe_key TEXT,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, finished_ms INTEGER) STRICT;
CREATE INDEX queue_jobs_due ON queue_jobs (state, run_at_ms);
CREATE INDEX queue_jobs_lease ON queue_jobs (state, lease_expires_ms);
CREATE UNIQUE INDEX queue_jobs_dedupe ON queue_jobs (kind, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'retrying');
)sql",
                                                        R"sql(
CREATE TABLE queue_jobs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, queue TEXT NOT NULL, kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'retrying', 'done', 'parked')),
  attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, run_at_ms BIGINT NOT NULL,
  worker_id TEXT, lease_expires_ms BIGINT, last_error TEXT, dedupe_key TEXT,
  created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, finished_ms BIGINT);
CREATE INDEX queue_jobs_due ON queue_jobs (state, run_at_ms);
CREATE INDEX queue_jobs_lease ON queue_jobs (state, lease_expires_ms);
CREATE UNIQUE INDEX queue_jobs_dedupe ON queue_jobs (kind, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'retrying');
)sql"}};

constexpr const char* kColumns =
    "id, queue, kind, payload, state, attempts, max_attempts, run_at_ms, worker_id, "
    "lease_expires_ms, last_error, dedupe_key, created_ms, updated_ms, finished_ms";

// What makes a job claimable at time $1: due and waiting, or running with an expired lease.
constexpr const char* kClaimable =
    "((state IN ('queued', 'retrying') AND run_at_ms <= $1) OR "
    "(state = 'running' AND lease_expires_ms <= $1))";

constexpr std::array<JobState, 5> kAllStates = {
    JobState::kQueued, JobState::kRunning, JobState::kRetrying, JobState::kDone, JobState::kParked};

Job JobFrom(const SqlRow& r) {
  Job job;
  job.id = r.Int("id");
  job.queue = r.Text("queue");
  job.kind = r.Text("kind");
  job.payload_json = r.Text("payload");
  std::optional<JobState> state = ParseJobState(r.Text("state"));
  if (!state) std::abort();  // the CHECK constraint admits only known states
  job.state = *state;
  job.attempts = static_cast<int>(r.Int("attempts"));
  job.max_attempts = static_cast<int>(r.Int("max_attempts"));
  job.run_at_ms = r.Int("run_at_ms");
  job.worker_id = r.OptionalText("worker_id");
  job.lease_expires_ms = r.OptionalInt("lease_expires_ms");
  job.last_error = r.OptionalText("last_error");
  job.dedupe_key = r.OptionalText("dedupe_key");
  job.created_ms = r.Int("created_ms");
  job.updated_ms = r.Int("updated_ms");
  job.finished_ms = r.OptionalInt("finished_ms");
  return job;
}

// The length of the well-formed UTF-8 character (not NUL) at the start of `s`, or 0.
size_t Utf8CharLength(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  if (p[0] == 0) return 0;
  if (p[0] < 0x80) return 1;
  size_t extra;
  uint32_t cp;
  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    extra = 1, cp = p[0] & 0x1F;
  } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
    extra = 2, cp = p[0] & 0x0F;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    extra = 3, cp = p[0] & 0x07;
  } else {
    return 0;
  }
  if (s.size() <= extra) return 0;
  for (size_t i = 1; i <= extra; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return extra + 1;
}

// `error` as storable text: invalid UTF-8 and NUL become '?', cut to kMaxErrorBytes.
std::string ErrorText(std::string_view error) {
  std::string out;
  while (!error.empty()) {
    size_t n = Utf8CharLength(error);
    if (out.size() + std::max<size_t>(n, 1) > kMaxErrorBytes) break;
    if (n == 0) {
      out += '?';
      n = 1;
    } else {
      out.append(error.substr(0, n));
    }
    error.remove_prefix(n);
  }
  return out;
}

Status CheckName(std::string_view what, std::string_view value, bool may_be_empty) {
  if (value.empty() && !may_be_empty)
    return InvalidArgument("a job's " + std::string(what) + " cannot be empty");
  if (value.size() > kMaxNameBytes) {
    return InvalidArgument("a job's " + std::string(what) + " is longer than " +
                           std::to_string(kMaxNameBytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxLimit) {
    return InvalidArgument("limit must be between 1 and " + std::to_string(kMaxLimit));
  }
  return Status::Ok();
}

// " AND queue = $n AND kind IN ($m, ...)" for a claim, adding the values to `params`.
std::string ClaimFilter(const ClaimOptions& options, SqlParams& params) {
  std::string sql;
  if (options.queue) {
    params.push_back(*options.queue);
    sql += " AND queue = $" + std::to_string(params.size());
  }
  if (!options.kinds.empty()) {
    sql += " AND kind IN (";
    for (size_t i = 0; i < options.kinds.size(); ++i) {
      params.push_back(options.kinds[i]);
      sql += (i == 0 ? "$" : ", $") + std::to_string(params.size());
    }
    sql += ")";
  }
  return sql;
}

// The error for a guarded update of job `id` that matched no row: it is gone, or not ours.
Status LeaseLostOrNotFound(SqlSession& session, int64_t id) {
  PORTICO_ASSIGN_OR_RETURN(SqlResult found,
                           session.Execute("SELECT state FROM queue_jobs WHERE id = $1", {id}));
  if (found.empty()) return NotFound("no job " + std::to_string(id));
  return Status(Code::kConflict, "lease_lost",
                "job " + std::to_string(id) + " is no longer running for this worker (it is " +
                    found[0].Text("state") + ")");
}

// How many rows the next multi-row statement takes of `remaining`: `max` (a power of two), or
// the largest power of two below it, so a statement's text takes one of few forms and stays in
// the connection's statement cache.
size_t NextChunk(size_t remaining, size_t max) {
  if (remaining >= max) return max;
  size_t n = 1;
  while (n * 2 <= remaining) n *= 2;
  return n;
}

double UniformRandom() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kRetrying:
      return "retrying";
    case JobState::kDone:
      return "done";
    case JobState::kParked:
      return "parked";
  }
  std::abort();
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (JobState state : kAllStates) {
    if (JobStateName(state) == name) return state;
  }
  return std::nullopt;
}

std::span<const Migration> JobQueue::Migrations() { return kMigrations; }

StatusOr<std::unique_ptr<JobQueue>> JobQueue::Open(SqlDatabase& db, const Clock& clock,
                                                   JobQueueOptions options) {
  if (options.backoff_base.count() < 1 || options.backoff_cap < options.backoff_base) {
    return InvalidArgument("job queue backoff needs 1 ms <= base <= cap");
  }
  if (!(options.jitter >= 0.0 && options.jitter <= 1.0)) {
    return InvalidArgument("job queue jitter must be between 0 and 1");
  }
  PORTICO_RETURN_IF_ERROR(db.Migrate(kComponent, kMigrations));
  return std::unique_ptr<JobQueue>(new JobQueue(db, clock, options));
}

StatusOr<int64_t> JobQueue::Enqueue(std::string_view kind, std::string_view payload_json,
                                    const EnqueueOptions& options) {
  PORTICO_RETURN_IF_ERROR(CheckName("kind", kind, false));
  PORTICO_RETURN_IF_ERROR(CheckName("queue", options.queue, true));
  if (options.dedupe_key &&
      (options.dedupe_key->empty() || options.dedupe_key->size() > kMaxDedupeBytes)) {
    return InvalidArgument("a job's dedupe key must have 1 to " + std::to_string(kMaxDedupeBytes) +
                           " bytes");
  }
  if (options.max_attempts < 1) return InvalidArgument("a job's max_attempts must be at least 1");
  if (!nlohmann::json::accept(payload_json)) {
    return InvalidArgument("a job's payload must be a JSON text");
  }
  const int64_t now = clock_.NowMillis();
  int64_t id = 0;
  PORTICO_RETURN_IF_ERROR(db_.Transaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(
        SqlResult inserted,
        session.Execute(
            "INSERT INTO queue_jobs (queue, kind, payload, state, attempts, max_attempts, "
            "run_at_ms, dedupe_key, created_ms, updated_ms) "
            "VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7, $7) "
            "ON CONFLICT DO NOTHING RETURNING id",
            {options.queue, kind, payload_json, options.max_attempts,
             options.run_at_ms.value_or(now), options.dedupe_key, now}));
    if (!inserted.empty()) {
      id = inserted[0].Int("id");
      return Status::Ok();
    }
    // Only the dedupe index can refuse the row: hand back the job holding the key.
    PORTICO_ASSIGN_OR_RETURN(
        SqlResult holder,
        session.Execute("SELECT id FROM queue_jobs WHERE kind = $1 AND dedupe_key = $2 AND "
                        "state IN ('queued', 'running', 'retrying')",
                        {kind, options.dedupe_key}));
    if (holder.empty()) return Internal("job queue: an insert was refused for no known reason");
    id = holder[0].Int("id");
    return Status::Ok();
  }));
  return id;
}

StatusOr<std::vector<int64_t>> JobQueue::EnqueueMany(SqlSession& session, std::string_view kind,
                                                     std::span<const JobSpec> jobs) {
  PORTICO_RETURN_IF_ERROR(CheckName("kind", kind, false));
  std::unordered_map<std::string_view, size_t> by_key;  // dedupe key -> index in `jobs`
  for (size_t i = 0; i < jobs.size(); ++i) {
    const EnqueueOptions& o = jobs[i].options;
    PORTICO_RETURN_IF_ERROR(CheckName("queue", o.queue, true));
    if (o.dedupe_key && (o.dedupe_key->empty() || o.dedupe_key->size() > kMaxDedupeBytes)) {
      return InvalidArgument("a job's dedupe key must have 1 to " +
                             std::to_string(kMaxDedupeBytes) + " bytes");
    }
    if (o.max_attempts < 1) return InvalidArgument("a job's max_attempts must be at least 1");
    if (!nlohmann::json::accept(jobs[i].payload_json)) {
      return InvalidArgument("a job's payload must be a JSON text");
    }
  }
  const int64_t now = clock_.NowMillis();
  std::vector<int64_t> ids(jobs.size(), 0);
  // 5 parameters a row; 256 rows stay far below every engine's limit on parameters.
  constexpr size_t kRowsPerInsert = 256;
  for (size_t start = 0, end = 0; start < jobs.size(); start = end) {
    end = start + NextChunk(jobs.size() - start, kRowsPerInsert);
    std::string sql =
        "INSERT INTO queue_jobs (queue, kind, payload, state, attempts, max_attempts, "
        "run_at_ms, dedupe_key, created_ms, updated_ms) VALUES ";
    SqlParams params;
    params.reserve((end - start) * 6 + 2);
    params.push_back(kind);  // $1
    params.push_back(now);   // $2
    by_key.clear();
    for (size_t i = start; i < end; ++i) {
      const EnqueueOptions& o = jobs[i].options;
      const size_t b = params.size();
      sql += i == start ? "" : ", ";
      sql += "($" + std::to_string(b + 1) + ", $1, $" + std::to_string(b + 2) + ", 'queued', 0, $" +
             std::to_string(b + 3) + ", $" + std::to_string(b + 4) + ", $" + std::to_string(b + 5) +
             ", $2, $2)";
      params.push_back(o.queue);
      params.push_back(jobs[i].payload_json);
      params.push_back(o.max_attempts);
      params.push_back(o.run_at_ms.value_or(now));
      params.push_back(o.dedupe_key);
      if (o.dedupe_key) by_key.emplace(*o.dedupe_key, i);
    }
    sql += " ON CONFLICT DO NOTHING RETURNING id, dedupe_key";
    PORTICO_ASSIGN_OR_RETURN(SqlResult inserted, session.Execute(sql, params));
    // Rows without a dedupe key cannot conflict; their ids, ascending, follow their order in the
    // VALUES list (ids are assigned as rows are inserted, in order).
    std::vector<int64_t> plain;
    for (const SqlRow& row : inserted) {
      if (auto key = row.OptionalText("dedupe_key")) {
        auto it = by_key.find(*key);
        if (it == by_key.end()) return Internal("job queue: a bulk insert returned an unknown key");
        ids[it->second] = row.Int("id");
      } else {
        plain.push_back(row.Int("id"));
      }
    }
    std::sort(plain.begin(), plain.end());
    size_t next_plain = 0;
    for (size_t i = start; i < end; ++i) {
      if (ids[i] != 0) continue;
      const EnqueueOptions& o = jobs[i].options;
      if (!o.dedupe_key) {
        if (next_plain >= plain.size()) return Internal("job queue: a bulk insert lost a row");
        ids[i] = plain[next_plain++];
        continue;
      }
      // Only the dedupe index can refuse the row: the job holding the key.
      PORTICO_ASSIGN_OR_RETURN(
          SqlResult holder,
          session.Execute("SELECT id FROM queue_jobs WHERE kind = $1 AND dedupe_key = $2 AND "
                          "state IN ('queued', 'running', 'retrying')",
                          {kind, o.dedupe_key}));
      if (holder.empty()) return Internal("job queue: an insert was refused for no known reason");
      ids[i] = holder[0].Int("id");
    }
  }
  return ids;
}

StatusOr<std::vector<Job>> JobQueue::Claim(const ClaimOptions& options) {
  PORTICO_RETURN_IF_ERROR(CheckName("worker id", options.worker_id, false));
  if (options.lease.count() < 1) return InvalidArgument("a job lease must be at least 1 ms");
  PORTICO_RETURN_IF_ERROR(CheckLimit(options.limit));
  const int64_t now = clock_.NowMillis();
  std::vector<Job> claimed;
  PORTICO_RETURN_IF_ERROR(db_.Transaction([&](SqlSession& session) -> Status {
    claimed.clear();
    // A job whose every attempt ended with its worker vanishing is poison: park it.
    SqlParams park_params = {now};
    std::string park_sql =
        "UPDATE queue_jobs SET state = 'parked', lease_expires_ms = NULL, finished_ms = $1, "
        "updated_ms = $1, last_error = 'the lease of worker ' || worker_id || "
        "' expired on the last attempt' "
        "WHERE state = 'running' AND lease_expires_ms <= $1 AND attempts >= max_attempts";
    park_sql += ClaimFilter(options, park_params);
    PORTICO_RETURN_IF_ERROR(session.Execute(park_sql, park_params).status());

    SqlParams select_params = {now, options.limit};
    std::string select_sql = std::string("SELECT id FROM queue_jobs WHERE ") + kClaimable;
    select_sql += ClaimFilter(options, select_params);
    select_sql += " ORDER BY run_at_ms, id LIMIT $2";
    // On PostgreSQL, concurrent claimers skip each other's candidates instead of queueing on
    // their row locks. SQLite serializes write transactions (BEGIN IMMEDIATE), so the SELECT and
    // the UPDATEs below are atomic there without it.
    if (db_.dialect() == "postgres") select_sql += " FOR UPDATE SKIP LOCKED";
    PORTICO_ASSIGN_OR_RETURN(SqlResult candidates, session.Execute(select_sql, select_params));

    const int64_t lease_until = now + options.lease.count();
    // One UPDATE for every candidate. Its WHERE repeats the claimable test, so even without row
    // locks a job another claimer took in the meantime matches nothing here and is skipped. The
    // id list is padded to a power of two with its last id (a repeat in IN changes nothing), so
    // the statement takes few forms and stays in the statement cache.
    std::unordered_map<int64_t, size_t> order;  // id -> position among the candidates
    for (const SqlRow& candidate : candidates) order.emplace(candidate.Int("id"), order.size());
    if (order.empty()) return Status::Ok();
    size_t slots = 1;
    while (slots < candidates.size()) slots *= 2;
    SqlParams params = {now, options.worker_id, lease_until};
    std::string in;
    for (size_t k = 0; k < slots; ++k) {
      params.push_back(candidates[std::min(k, candidates.size() - 1)].Int("id"));
      in += (k == 0 ? "$" : ", $") + std::to_string(params.size());
    }
    PORTICO_ASSIGN_OR_RETURN(
        SqlResult updated,
        session.Execute(std::string("UPDATE queue_jobs SET state = 'running', worker_id = $2, "
                                    "lease_expires_ms = $3, attempts = attempts + 1, "
                                    "updated_ms = $1, last_error = CASE WHEN state = 'running' "
                                    "THEN 'the lease of worker ' || worker_id || ' expired' "
                                    "ELSE last_error END WHERE id IN (") +
                            in + ") AND " + kClaimable + " RETURNING " + kColumns,
                        params));
    for (const SqlRow& row : updated) claimed.push_back(JobFrom(row));
    // Oldest due first, as the candidates were chosen.
    std::sort(claimed.begin(), claimed.end(),
              [&](const Job& a, const Job& b) { return order[a.id] < order[b.id]; });
    return Status::Ok();
  }));
  return claimed;
}

Status JobQueue::Heartbeat(int64_t id, std::string_view worker_id,
                           std::chrono::milliseconds lease) {
  if (lease.count() < 1) return InvalidArgument("a job lease must be at least 1 ms");
  const int64_t now = clock_.NowMillis();
  return db_.Transaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(
        SqlResult updated,
        session.Execute("UPDATE queue_jobs SET lease_expires_ms = $1, updated_ms = $2 "
                        "WHERE id = $3 AND state = 'running' AND worker_id = $4",
                        {now + lease.count(), now, id, worker_id}));
    if (updated.rows_affected == 0) return LeaseLostOrNotFound(session, id);
    return Status::Ok();
  });
}

Status JobQueue::Complete(int64_t id, std::string_view worker_id) {
  const int64_t now = clock_.NowMillis();
  return db_.Transaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(
        SqlResult updated,
        session.Execute("UPDATE queue_jobs SET state = 'done', lease_expires_ms = NULL, "
                        "finished_ms = $1, updated_ms = $1 "
                        "WHERE id = $2 AND state = 'running' AND worker_id = $3",
                        {now, id, worker_id}));
    if (updated.rows_affected == 0) return LeaseLostOrNotFound(session, id);
    return Status::Ok();
  });
}

StatusOr<std::vector<int64_t>> JobQueue::CompleteMany(SqlSession& session,
                                                      std::span<const int64_t> ids,
                                                      std::string_view worker_id) {
  const int64_t now = clock_.NowMillis();
  std::vector<int64_t> done;
  done.reserve(ids.size());
  constexpr size_t kIdsPerUpdate = 512;
  for (size_t start = 0; start < ids.size(); start += kIdsPerUpdate) {
    const size_t end = std::min(ids.size(), start + kIdsPerUpdate);
    // The list is padded to a power of two with its last id (a repeat in IN changes nothing), so
    // the statement takes one of few forms and stays in the statement cache.
    size_t slots = 1;
    while (slots < end - start) slots *= 2;
    SqlParams params = {now, worker_id};
    std::string sql =
        "UPDATE queue_jobs SET state = 'done', lease_expires_ms = NULL, finished_ms = $1, "
        "updated_ms = $1 WHERE state = 'running' AND worker_id = $2 AND id IN (";
    for (size_t k = 0; k < slots; ++k) {
      params.push_back(ids[std::min(start + k, end - 1)]);
      sql += (k == 0 ? "$" : ", $") + std::to_string(params.size());
    }
    sql += ") RETURNING id";
    PORTICO_ASSIGN_OR_RETURN(SqlResult updated, session.Execute(sql, params));
    for (const SqlRow& row : updated) done.push_back(row.Int(0));
  }
  return done;
}

StatusOr<JobState> JobQueue::Fail(int64_t id, std::string_view worker_id, std::string_view error) {
  const int64_t now = clock_.NowMillis();
  const std::string error_text = ErrorText(error);
  JobState next = JobState::kRetrying;
  PORTICO_RETURN_IF_ERROR(db_.Transaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(
        SqlResult current, session.Execute("SELECT attempts, max_attempts FROM queue_jobs "
                                           "WHERE id = $1 AND state = 'running' AND worker_id = $2",
                                           {id, worker_id}));
    if (current.empty()) return LeaseLostOrNotFound(session, id);
    const int64_t attempts = current[0].Int("attempts");
    SqlResult updated;
    if (attempts >= current[0].Int("max_attempts")) {
      next = JobState::kParked;
      PORTICO_ASSIGN_OR_RETURN(
          updated, session.Execute(
                       "UPDATE queue_jobs SET state = 'parked', lease_expires_ms = NULL, "
                       "last_error = $1, finished_ms = $2, updated_ms = $2 "
                       "WHERE id = $3 AND state = 'running' AND worker_id = $4 AND attempts = $5",
                       {error_text, now, id, worker_id, attempts}));
    } else {
      next = JobState::kRetrying;
      const int64_t run_at = now + BackoffMillis(static_cast<int>(attempts));
      PORTICO_ASSIGN_OR_RETURN(
          updated, session.Execute(
                       "UPDATE queue_jobs SET state = 'retrying', lease_expires_ms = NULL, "
                       "last_error = $1, run_at_ms = $2, updated_ms = $3 "
                       "WHERE id = $4 AND state = 'running' AND worker_id = $5 AND attempts = $6",
                       {error_text, run_at, now, id, worker_id, attempts}));
    }
    if (updated.rows_affected == 0) return LeaseLostOrNotFound(session, id);
    return Status::Ok();
  }));
  return next;
}

Status JobQueue::Retry(int64_t id) {
  const int64_t now = clock_.NowMillis();
  return db_.Transaction([&](SqlSession& session) -> Status {
    PORTICO_ASSIGN_OR_RETURN(SqlResult found,
                             session.Execute("SELECT state FROM queue_jobs WHERE id = $1", {id}));
    if (found.empty()) return NotFound("no job " + std::to_string(id));
    if (found[0].Text("state") != JobStateName(JobState::kParked)) {
      return Status(Code::kPreconditionFailed, "job_not_parked",
                    "job " + std::to_string(id) + " is " + found[0].Text("state") +
                        ", and only a parked job can be retried");
    }
    StatusOr<SqlResult> updated = session.Execute(
        "UPDATE queue_jobs SET state = 'queued', attempts = 0, run_at_ms = $1, "
        "lease_expires_ms = NULL, finished_ms = NULL, updated_ms = $1 "
        "WHERE id = $2 AND state = 'parked'",
        {now, id});
    if (updated.status().code() == Code::kConflict) {
      return Conflict("an unfinished job already holds the dedupe key of job " +
                      std::to_string(id));
    }
    return updated.status();
  });
}

StatusOr<Job> JobQueue::Get(int64_t id) {
  PORTICO_ASSIGN_OR_RETURN(
      SqlResult found,
      db_.Execute(std::string("SELECT ") + kColumns + " FROM queue_jobs WHERE id = $1", {id}));
  if (found.empty()) return NotFound("no job " + std::to_string(id));
  return JobFrom(found[0]);
}

StatusOr<std::vector<Job>> JobQueue::List(const JobFilter& filter) {
  PORTICO_RETURN_IF_ERROR(CheckLimit(filter.limit));
  SqlParams params = {filter.after_id, filter.limit};
  std::string sql = std::string("SELECT ") + kColumns + " FROM queue_jobs WHERE id > $1";
  if (filter.state) {
    params.push_back(JobStateName(*filter.state));
    sql += " AND state = $" + std::to_string(params.size());
  }
  if (filter.kind) {
    params.push_back(*filter.kind);
    sql += " AND kind = $" + std::to_string(params.size());
  }
  if (filter.queue) {
    params.push_back(*filter.queue);
    sql += " AND queue = $" + std::to_string(params.size());
  }
  sql += " ORDER BY id LIMIT $2";
  PORTICO_ASSIGN_OR_RETURN(SqlResult rows, db_.Execute(sql, params));
  std::vector<Job> jobs;
  jobs.reserve(rows.size());
  for (const SqlRow& row : rows) jobs.push_back(JobFrom(row));
  return jobs;
}

StatusOr<std::map<JobState, int64_t>> JobQueue::CountByState(std::optional<std::string> queue) {
  std::string sql = "SELECT state, count(*) AS n FROM queue_jobs";
  SqlParams params;
  if (queue) {
    sql += " WHERE queue = $1";
    params.push_back(*queue);
  }
  sql += " GROUP BY state";
  PORTICO_ASSIGN_OR_RETURN(SqlResult rows, db_.Execute(sql, params));
  std::map<JobState, int64_t> counts;
  for (JobState state : kAllStates) counts[state] = 0;
  for (const SqlRow& row : rows) {
    std::optional<JobState> state = ParseJobState(row.Text("state"));
    if (state) counts[*state] = row.Int("n");
  }
  return counts;
}

StatusOr<int64_t> JobQueue::PruneDone(int64_t finished_before_ms) {
  PORTICO_ASSIGN_OR_RETURN(
      SqlResult deleted,
      db_.Execute("DELETE FROM queue_jobs WHERE state = 'done' AND finished_ms < $1",
                  {finished_before_ms}));
  return deleted.rows_affected;
}

int64_t JobQueue::BackoffMillis(int attempts) const {
  const int64_t cap = options_.backoff_cap.count();
  int64_t delay = options_.backoff_base.count();
  for (int i = 1; i < attempts && delay < cap; ++i) delay = delay > cap / 2 ? cap : delay * 2;
  delay = std::min(delay, cap);
  const auto cut =
      static_cast<int64_t>(static_cast<double>(delay) * options_.jitter * UniformRandom());
  return delay - cut;
}

}  // namespace portico::store

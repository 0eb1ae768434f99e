#include "author/publish/publish_service.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "author/publish/batch_delivery.h"
#include "core/log.h"
#include "protocol/dam_path.h"

namespace portico::author::publish {
namespace {

std::string DefaultWorkerPrefix() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  std::random_device rd;
  char rnd[17];
  std::snprintf(rnd, sizeof(rnd), "%08x%08x", rd(), rd());
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + rnd;
}

std::string ItemState(const store::Job& job) {
  switch (job.state) {
    case store::JobState::kQueued:
      return "queued";
    case store::JobState::kRunning:
      return "sending";
    case store::JobState::kRetrying:
      return "retrying";
    case store::JobState::kDone:
      return "delivered";
    case store::JobState::kParked:
      return "parked";
  }
  return "queued";
}

}  // namespace

struct PublishService::AgentState {
  std::string worker_id;
  std::string target_key;
  PublishTarget target;
  std::unique_ptr<IngestChannel> channel;
  std::vector<std::unique_ptr<IngestChannel>> lanes;  // upload_lanes - 1 more to the same target
};

PublishService::PublishService(store::SqlDatabase& db, PublishSource& source,
                               PublishTargetSource& target, TokenProvider& tokens,
                               store::BlobStore& blobs, IngestChannelFactory channels,
                               PublishOptions options)
    : db_(db),
      source_(source),
      target_(target),
      tokens_(tokens),
      blobs_(blobs),
      channels_(std::move(channels)),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : SystemClock()) {
  if (options_.worker_prefix.empty()) options_.worker_prefix = DefaultWorkerPrefix();
}

PublishService::~PublishService() { Stop(); }

StatusOr<std::unique_ptr<PublishService>> PublishService::Create(
    store::SqlDatabase& db, PublishSource& source, PublishTargetSource& target,
    TokenProvider& tokens, store::BlobStore& blobs, IngestChannelFactory channels,
    PublishOptions options) {
  if (options.max_attempts < 1) return InvalidArgument("max_attempts must be at least 1");
  if (options.batch_items < 1 || options.batch_items > 1000) {
    return InvalidArgument("batch_items must be 1 to 1000");
  }
  if (options.upload_lanes < 1 || options.upload_lanes > PublishOptions::kMaxUploadLanes) {
    return InvalidArgument("upload_lanes must be 1 to " +
                           std::to_string(PublishOptions::kMaxUploadLanes));
  }
  if (options.agent_workers < 1 || options.agent_workers > PublishOptions::kMaxAgentWorkers) {
    return InvalidArgument("agent_workers must be 1 to " +
                           std::to_string(PublishOptions::kMaxAgentWorkers));
  }
  if (options.lease.count() < 3) return InvalidArgument("the lease is too short");
  std::unique_ptr<PublishService> svc(
      new PublishService(db, source, target, tokens, blobs, std::move(channels), options));
  PORTICO_ASSIGN_OR_RETURN(svc->store_, PublishStore::Open(db));
  PORTICO_ASSIGN_OR_RETURN(svc->queue_, store::JobQueue::Open(db, svc->clock_, options.queue));
  return svc;
}

StatusOr<RequestRecord> PublishService::Publish(const std::vector<std::string>& raw_paths,
                                                PublishAction action,
                                                std::optional<int64_t> run_at_ms) {
  if (raw_paths.empty()) return InvalidArgument("name at least one path to publish");
  if (raw_paths.size() > 1000) return InvalidArgument("at most 1000 paths in one request");
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const auto& raw : raw_paths) {
    auto p = protocol::NormalizeDamPath(raw);
    if (!p.ok()) return p.status();
    if (*p == protocol::kDamRoot && action == PublishAction::kUnpublish) {
      return InvalidArgument("the root /content/dam cannot be unpublished");
    }
    if (seen.insert(*p).second) paths.push_back(*p);
  }
  PORTICO_RETURN_IF_ERROR(target_.Target().status());
  if (action == PublishAction::kPublish) {
    std::vector<std::string> unknown;
    for (const auto& p : paths) {
      auto o = source_.Lookup(p);
      if (o.ok()) continue;
      if (o.status().code() != Code::kNotFound) return o.status();
      unknown.push_back(p);
    }
    if (!unknown.empty()) {
      std::string list;
      for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
      return Status(Code::kNotFound, "unknown_path",
                    "no folder or asset on the author at: " + list + " (nothing was queued)");
    }
  }
  const int64_t now = clock_.NowMillis();
  const int64_t at = std::max(now, run_at_ms.value_or(now));
  PORTICO_ASSIGN_OR_RETURN(int64_t id, store_->CreateRequest(action, paths, at, now));
  PORTICO_ASSIGN_OR_RETURN(RequestRecord request, store_->GetRequest(id));
  if (at <= now) {
    Status st = StartRequest(request);
    // A failure to start leaves it scheduled and due: the scheduler tries again.
    if (!st.ok()) log::Warn("publish_start_deferred", {{"request", id}, {"error", st.ToString()}});
    PORTICO_ASSIGN_OR_RETURN(request, store_->GetRequest(id));
  }
  log::Info("publish_requested", {{"request", id},
                                  {"action", std::string(PublishActionName(action))},
                                  {"paths", paths.size()},
                                  {"run_at_ms", at}});
  Wake();
  return request;
}

Status PublishService::StartRequest(const RequestRecord& request) {
  std::lock_guard lock(expand_mu_);
  auto target = target_.Target();
  if (!target.ok() || target->agents.empty()) {
    std::string why =
        target.ok() ? "the portal cloud service has no agents" : target.status().message();
    return store_->FailRequest(request.id, "could not start: " + why, clock_.NowMillis());
  }
  const auto& agents = target->agents;
  // The seq is read before the snapshot: every change in the snapshot has a seq at most the
  // author's current one, and later changes get greater ones.
  PORTICO_ASSIGN_OR_RETURN(int64_t current_seq, source_.CurrentSeq());
  const auto expand_start = std::chrono::steady_clock::now();
  std::vector<ItemRecord> items;
  std::set<std::string> seen;
  auto add = [&](ItemKind kind, PublishObject o, std::optional<std::string> error) {
    if (!seen.insert(o.path).second) return;
    ItemRecord item;
    item.kind = kind;
    item.object = std::move(o);
    item.error = std::move(error);
    items.push_back(std::move(item));
  };
  for (const auto& path : request.paths) {
    if (request.action == PublishAction::kUnpublish) {
      add(ItemKind::kDelete, PublishObject{.path = path}, std::nullopt);
      continue;
    }
    auto o = source_.Lookup(path);
    if (!o.ok()) {
      if (o.status().code() != Code::kNotFound) return o.status();
      add(ItemKind::kAsset, PublishObject{.path = path},
          "no folder or asset at this path when the request started");
      continue;
    }
    if (!o->is_folder) {
      add(ItemKind::kAsset, std::move(*o), std::nullopt);
      continue;
    }
    PORTICO_ASSIGN_OR_RETURN(auto tree, source_.Expand(path));
    for (auto& t : tree) {
      // The root always exists on the portal: it is never published as a folder.
      if (t.is_folder && t.path == protocol::kDamRoot) continue;
      ItemKind kind = t.is_folder ? ItemKind::kFolder : ItemKind::kAsset;
      add(kind, std::move(t), std::nullopt);
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].agent = agents[(static_cast<size_t>(request.id) + i) % agents.size()];
  }
  const auto store_start = std::chrono::steady_clock::now();
  auto started =
      store_->StartRequest(request.id, current_seq, std::move(items), clock_.NowMillis(),
                           [this](store::SqlSession& s, const std::vector<ItemRecord>& made) {
                             return MakeJobs(s, made);
                           });
  if (!started.ok()) {
    if (started.status().error() == "already_started") return Status::Ok();
    return started.status();
  }
  const auto end = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  log::Info("publish_started", {{"request", request.id},
                                {"items", started->size()},
                                {"agents", agents.size()},
                                {"expand_ms", ms(store_start - expand_start)},
                                {"store_ms", ms(end - store_start)}});
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> PublishService::MakeJobs(store::SqlSession& session,
                                                        const std::vector<ItemRecord>& items) {
  std::vector<store::JobSpec> specs;
  std::vector<size_t> index;  // specs[k] is the job of items[index[k]]
  specs.reserve(items.size());
  index.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ItemRecord& item = items[i];
    if (item.error || item.job_id) continue;
    store::JobSpec spec;
    spec.payload_json = "{\"item\":" + std::to_string(item.id) + "}";
    spec.options.queue = item.agent;
    spec.options.max_attempts = options_.max_attempts;
    spec.options.dedupe_key = "item:" + std::to_string(item.id);
    specs.push_back(std::move(spec));
    index.push_back(i);
  }
  PORTICO_ASSIGN_OR_RETURN(auto ids, queue_->EnqueueMany(session, kItemJobKind, specs));
  std::vector<int64_t> out(items.size(), 0);
  for (size_t k = 0; k < ids.size(); ++k) out[index[k]] = ids[k];
  return out;
}

Status PublishService::QueueItems(const std::vector<ItemRecord>& items) {
  return store_->QueueItems(items, [this](store::SqlSession& s, const std::vector<ItemRecord>& i) {
    return MakeJobs(s, i);
  });
}

StatusOr<RequestStatus> PublishService::GetStatus(int64_t request_id, bool with_items) {
  RequestStatus out;
  PORTICO_ASSIGN_OR_RETURN(out.request, store_->GetRequest(request_id));
  if (!with_items) {
    // Totals only: one grouped count, no item is read.
    PORTICO_ASSIGN_OR_RETURN(auto counts, store_->CountItems(request_id));
    bool done = out.request.state != "scheduled";
    for (const auto& [state, n] : counts) {
      if (state == "total") {
        out.totals["total"] = n;
        continue;
      }
      std::string shown = state;
      if (auto parsed = store::ParseJobState(state)) {
        store::Job j;
        j.state = *parsed;
        shown = ItemState(j);
      }
      if (shown != "delivered" && shown != "parked" && shown != "failed") done = false;
      out.totals[shown] += n;
    }
    out.done = done;
    return out;
  }
  PORTICO_ASSIGN_OR_RETURN(auto items, store_->ListItems(request_id));
  // The items' jobs, read in pages of ids (a request's jobs are mostly consecutive).
  std::map<int64_t, store::Job> jobs;
  std::vector<int64_t> ids;
  for (const auto& i : items) {
    if (i.job_id) ids.push_back(*i.job_id);
  }
  std::sort(ids.begin(), ids.end());
  size_t next = 0;
  while (next < ids.size()) {
    store::JobFilter f;
    f.kind = std::string(kItemJobKind);
    f.after_id = ids[next] - 1;
    f.limit = 1000;
    PORTICO_ASSIGN_OR_RETURN(auto page, queue_->List(f));
    if (page.empty()) break;
    for (auto& j : page) jobs.emplace(j.id, std::move(j));
    const int64_t last = jobs.empty() ? 0 : std::prev(jobs.end())->first;
    while (next < ids.size() && ids[next] <= last) ++next;
  }
  bool done = out.request.state != "scheduled";
  for (const auto& i : items) {
    ItemStatus s;
    s.id = i.id;
    s.path = i.object.path;
    s.kind = std::string(ItemKindName(i.kind));
    s.agent = i.agent;
    s.size = i.object.size;
    s.sha256 = i.object.sha256;
    if (i.error) {
      s.state = "failed";
      s.last_error = i.error;
    } else if (auto it = i.job_id ? jobs.find(*i.job_id) : jobs.end(); it != jobs.end()) {
      const store::Job& j = it->second;
      s.state = ItemState(j);
      s.attempts = j.attempts;
      s.last_error = j.last_error;
      if (j.state == store::JobState::kQueued || j.state == store::JobState::kRetrying) {
        s.next_attempt_ms = j.run_at_ms;
      }
    } else {
      s.state = "queued";
    }
    if (s.state != "delivered" && s.state != "parked" && s.state != "failed") done = false;
    ++out.totals[s.state];
    out.items.push_back(std::move(s));
  }
  out.totals["total"] = static_cast<int64_t>(items.size());
  out.done = done;
  return out;
}

StatusOr<std::vector<RequestRecord>> PublishService::List(int limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("limit must be 1 to 1000");
  return store_->ListRequests(limit);
}

StatusOr<int> PublishService::RetryRequest(int64_t request_id) {
  PORTICO_RETURN_IF_ERROR(store_->GetRequest(request_id).status());
  PORTICO_ASSIGN_OR_RETURN(auto items, store_->ListItems(request_id));
  int retried = 0;
  for (const auto& i : items) {
    if (!i.job_id) continue;
    PORTICO_ASSIGN_OR_RETURN(auto job, queue_->Get(*i.job_id));
    if (job.state != store::JobState::kParked) continue;
    PORTICO_RETURN_IF_ERROR(queue_->Retry(job.id));
    ++retried;
  }
  if (retried > 0) Wake();
  return retried;
}

Status PublishService::RetryItem(int64_t item_id) {
  PORTICO_ASSIGN_OR_RETURN(auto item, store_->GetItem(item_id));
  if (!item.job_id) {
    return Status(Code::kPreconditionFailed, "not_parked",
                  "item " + std::to_string(item_id) + " is not parked");
  }
  Status st = queue_->Retry(*item.job_id);
  if (st.code() == Code::kPreconditionFailed) {
    return Status(Code::kPreconditionFailed, "not_parked",
                  "item " + std::to_string(item_id) + " is not parked");
  }
  if (st.ok()) Wake();
  return st;
}

StatusOr<int> PublishService::RunSchedulerOnce() {
  int started = 0;
  PORTICO_ASSIGN_OR_RETURN(auto due, store_->DueRequests(clock_.NowMillis(), 100));
  for (const auto& r : due) {
    Status st = StartRequest(r);
    if (!st.ok()) {
      log::Warn("publish_start_failed", {{"request", r.id}, {"error", st.ToString()}});
      continue;
    }
    ++started;
  }
  // Items a crash left between StartRequest and their queueing.
  {
    std::lock_guard lock(expand_mu_);
    PORTICO_ASSIGN_OR_RETURN(auto orphans, store_->ItemsWithoutJob(1000));
    PORTICO_RETURN_IF_ERROR(QueueItems(orphans));
  }
  return started;
}

PublishService::AgentState& PublishService::Agent(const std::string& agent, int worker) {
  std::lock_guard lock(agents_mu_);
  auto& slot = agents_[{agent, worker}];
  if (!slot) {
    slot = std::make_unique<AgentState>();
    // Each worker owns its claims under its own id (a lease is never heartbeated by a sibling).
    slot->worker_id = options_.worker_prefix + ":" + agent;
    if (worker > 0) slot->worker_id += "#" + std::to_string(worker);
  }
  return *slot;
}

StatusOr<int> PublishService::RunAgentOnce(const std::string& agent, int worker) {
  if (worker < 0 || worker >= options_.agent_workers) {
    return InvalidArgument("worker must be 0 to " + std::to_string(options_.agent_workers - 1));
  }
  AgentState& a = Agent(agent, worker);
  store::ClaimOptions co;
  co.worker_id = a.worker_id;
  co.queue = agent;
  co.kinds = {std::string(kItemJobKind)};
  co.lease = options_.lease;
  co.limit = options_.batch_items;
  PORTICO_ASSIGN_OR_RETURN(auto jobs, queue_->Claim(co));
  if (jobs.empty()) return 0;

  // The jobs' items, read in one query.
  std::vector<int64_t> item_ids(jobs.size(), 0);
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto payload = nlohmann::json::parse(jobs[i].payload_json, nullptr, false);
    if (payload.is_object() && payload.contains("item") && payload["item"].is_number_integer()) {
      item_ids[i] = payload["item"].get<int64_t>();
    }
  }
  PORTICO_ASSIGN_OR_RETURN(auto items, store_->GetItems(item_ids));
  std::vector<BatchEntry> entries;
  entries.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    BatchEntry e;
    e.job = std::move(jobs[i]);
    auto item = items.find(item_ids[i]);
    if (item == items.end()) {
      // Nothing to deliver (a malformed job or a removed item): finish it.
      auto st = queue_->Complete(e.job.id, a.worker_id);
      if (!st.ok()) log::Warn("publish_orphan_job", {{"job", e.job.id}, {"error", st.ToString()}});
      continue;
    }
    e.item = item->second;
    entries.push_back(std::move(e));
  }

  auto target = target_.Target();
  if (!target.ok()) {
    for (auto& e : entries) {
      auto st = queue_->Fail(e.job.id, a.worker_id, "not sent: " + target.status().message());
      (void)st;
    }
    return static_cast<int>(jobs.size());
  }
  const std::string key = target->tenant_url + "\n" + target->author_id;
  if (!a.channel || a.target_key != key) {
    a.channel = channels_(*target);
    a.lanes.clear();
    for (int i = 1; i < options_.upload_lanes; ++i) a.lanes.push_back(channels_(*target));
    a.target_key = key;
  }
  a.target = *target;
  std::vector<IngestChannel*> lanes;
  for (const auto& l : a.lanes) lanes.push_back(l.get());
  BatchDeps deps{*queue_, *store_, tokens_, blobs_, clock_, options_.lease};
  BatchDelivery delivery(deps, *a.channel, a.target, a.worker_id, std::move(lanes));
  delivery.Deliver(entries);
  return static_cast<int>(jobs.size());
}

bool PublishService::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(run_mu_);
  const uint64_t seen = wake_;
  run_cv_.wait_for(lock, d, [&] { return stopping_ || wake_ != seen; });
  return !stopping_;
}

void PublishService::Wake() {
  {
    std::lock_guard lock(run_mu_);
    ++wake_;
  }
  run_cv_.notify_all();
}

void PublishService::Start() {
  std::lock_guard lock(run_mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  scheduler_ = std::thread([this] { SchedulerLoop(); });
}

void PublishService::SchedulerLoop() {
  do {
    auto r = RunSchedulerOnce();
    if (!r.ok()) log::Warn("publish_scheduler_failed", {{"error", r.status().ToString()}});
    auto target = target_.Target();
    if (target.ok()) {
      std::lock_guard lock(run_mu_);
      for (const auto& agent : target->agents) {
        for (int w = 0; w < options_.agent_workers; ++w) {
          if (stopping_ || workers_.count({agent, w})) continue;
          workers_[{agent, w}] = std::thread([this, agent, w] { WorkerLoop(agent, w); });
        }
      }
    }
  } while (Sleep(std::chrono::milliseconds(500)));
}

void PublishService::WorkerLoop(std::string agent, int worker) {
  while (true) {
    auto r = RunAgentOnce(agent, worker);
    if (!r.ok()) {
      log::Warn("publish_worker_failed",
                {{"agent", agent}, {"worker", worker}, {"error", r.status().ToString()}});
    }
    if (r.ok() && *r > 0) {
      std::lock_guard lock(run_mu_);
      if (stopping_) return;
      continue;  // more may be due at once
    }
    if (!Sleep(options_.idle_poll)) return;
  }
}

void PublishService::Stop() {
  std::map<std::pair<std::string, int>, std::thread> workers;
  {
    std::lock_guard lock(run_mu_);
    if (!running_) return;
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  {
    std::lock_guard lock(run_mu_);
    workers.swap(workers_);
  }
  for (auto& [name, t] : workers) {
    if (t.joinable()) t.join();
  }
  std::lock_guard lock(run_mu_);
  running_ = false;
}

}  // namespace portico::author::publish

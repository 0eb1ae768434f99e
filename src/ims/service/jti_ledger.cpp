#include "ims/service/jti_ledger.h"

#include <chrono>
#include <cstring>

#include "core/crypto/sha256.h"
#include "core/log.h"

namespace portico::ims {
namespace {
constexpr std::chrono::milliseconds kFlushInterval{5};
}  // namespace

StatusOr<std::unique_ptr<JtiLedger>> JtiLedger::Open(ImsStore& store, int64_t now,
                                                     size_t max_entries) {
  std::unique_ptr<JtiLedger> ledger(new JtiLedger(store, max_entries));
  PORTICO_ASSIGN_OR_RETURN(auto loaded, store.LoadJtis(now, max_entries + 1));
  if (loaded.size() > max_entries) {
    ledger->in_memory_ = false;
    log::Warn("jti_ledger_in_database", {{"reason", "more unexpired ids than the memory bound"}});
  } else {
    ledger->LoadLocked(loaded);
  }
  ledger->thread_ = std::thread([l = ledger.get()] { l->Run(); });
  return ledger;
}

JtiLedger::JtiLedger(ImsStore& store, size_t max_entries)
    : store_(store), max_entries_(max_entries) {}

JtiLedger::~JtiLedger() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

JtiLedger::Id JtiLedger::MakeId(const std::string& client_id, const std::string& jti) {
  // Length-prefixed, so no pair of (client id, jti) can spell another's input. 128 bits of
  // SHA-256: a collision (one id refused as a replay of another) needs about 2^64 ids.
  std::string input = std::to_string(client_id.size());
  input += ':';
  input += client_id;
  input += jti;
  const std::string digest = crypto::Sha256Raw(input);
  Id id;
  std::memcpy(id.data(), digest.data(), sizeof id);
  return id;
}

void JtiLedger::LoadLocked(const std::vector<JtiRecord>& records) {
  used_.clear();
  used_.reserve(records.size());
  for (const auto& r : records) {
    auto [it, inserted] = used_.try_emplace(MakeId(r.client_id, r.jti), r.expires_at);
    if (!inserted && it->second < r.expires_at) it->second = r.expires_at;
  }
}

Status JtiLedger::Record(const std::string& client_id, const std::string& jti, int64_t expires_at,
                         int64_t now) {
  std::unique_lock lock(mu_);
  if (in_memory_) {
    auto [it, inserted] = used_.try_emplace(MakeId(client_id, jti), expires_at);
    if (!inserted) {
      if (it->second >= now) return Conflict("jti already used");
      it->second = expires_at;  // an expired use: the id may be used again
    }
    const bool was_idle = pending_.empty();
    pending_.push_back({client_id, jti, expires_at});
    if (used_.size() <= max_entries_) {
      lock.unlock();
      if (was_idle) wake_.notify_one();  // the thread sleeps until there is something to write
      return Status::Ok();
    }
    // Over the bound: from now on the database decides, once its table keyed by id holds
    // everything (pending ids appended to the log, then the log moved into the table).
    in_memory_ = false;
    used_.clear();
    log::Warn("jti_ledger_in_database", {{"reason", "more unexpired ids than the memory bound"}});
    flushed_.wait(lock, [&] { return !flushing_; });
    PORTICO_RETURN_IF_ERROR(FlushLocked(lock));
    return store_.IndexJtiLog(now);
  }
  // The database decides, once it holds everything pending. The lock stays held, so Prune's
  // reload cannot miss an id written meanwhile (this degraded mode serializes exchanges).
  flushed_.wait(lock, [&] { return !flushing_; });
  PORTICO_RETURN_IF_ERROR(FlushLocked(lock));
  return store_.RecordJti(client_id, jti, expires_at, now);
}

Status JtiLedger::Flush() {
  std::unique_lock lock(mu_);
  flushed_.wait(lock, [&] { return !flushing_; });
  return FlushLocked(lock);
}

Status JtiLedger::FlushLocked(std::unique_lock<std::mutex>& lock) {
  if (pending_.empty()) return Status::Ok();
  std::vector<JtiRecord> batch;
  batch.swap(pending_);
  flushing_ = true;
  lock.unlock();
  Status st = store_.WriteJtis(batch);
  lock.lock();
  flushing_ = false;
  if (!st.ok()) {
    // Keep them for the next attempt, ahead of what came meanwhile.
    batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
                 std::make_move_iterator(pending_.end()));
    pending_.swap(batch);
  }
  flushed_.notify_all();
  wake_.notify_all();
  return st;
}

void JtiLedger::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    // Every id recorded while the previous flush ran goes into the next one: group commit.
    wake_.wait(lock, [&] { return !flushing_ && (stopping_ || !pending_.empty()); });
    if (pending_.empty()) return;  // stopping, and everything is written
    // Let a batch gather: one transaction per interval instead of one per request.
    wake_.wait_for(lock, kFlushInterval, [&] { return stopping_; });
    if (flushing_) continue;  // Flush() took them meanwhile
    Status st = FlushLocked(lock);
    if (!st.ok()) {
      log::Error("jti_flush_failed", {{"reason", st.message()}});
      if (stopping_) return;
      wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
    }
  }
}

Status JtiLedger::Prune(int64_t now) {
  std::unique_lock lock(mu_);
  boost::unordered::erase_if(used_, [now](const auto& entry) { return entry.second < now; });
  lock.unlock();
  PORTICO_RETURN_IF_ERROR(store_.PruneJtis(now).status());
  lock.lock();
  if (in_memory_) return Status::Ok();
  // Back to memory once the unexpired ids fit well under the bound. Records wait meanwhile, so
  // none can slip between the load and the switch.
  PORTICO_ASSIGN_OR_RETURN(auto loaded, store_.LoadJtis(now, max_entries_ / 2 + 1));
  if (loaded.size() > max_entries_ / 2) return Status::Ok();
  LoadLocked(loaded);
  in_memory_ = true;
  log::Info("jti_ledger_in_memory", {{"ids", static_cast<int64_t>(used_.size())}});
  return Status::Ok();
}

size_t JtiLedger::size() const {
  std::lock_guard lock(mu_);
  return used_.size();
}

bool JtiLedger::in_memory() const {
  std::lock_guard lock(mu_);
  return in_memory_;
}

}  // namespace portico::ims

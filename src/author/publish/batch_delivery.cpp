#include "author/publish/batch_delivery.h"

#include <algorithm>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include "core/crypto/sha256.h"
#include "core/log.h"

namespace portico::author::publish {

bool IsContentRefusal(const Status& status) {
  switch (status.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kConflict:
    case Code::kPreconditionFailed:
    case Code::kPayloadTooLarge:
      // A refusal of the author itself concerns every item alike: splitting cannot help.
      return status.error() != "author_already_bound" && status.error() != "alias_url" &&
             status.error() != "unknown_tenant" && status.error() != "unsupported_version";
    default:
      return false;
  }
}

protocol::Operation BatchDelivery::OperationFor(const ItemRecord& item) {
  protocol::Operation op;
  op.path = item.object.path;
  op.seq = item.seq;
  switch (item.kind) {
    case ItemKind::kDelete:
      op.kind = protocol::OpKind::kDelete;
      return op;
    case ItemKind::kFolder:
      op.kind = protocol::OpKind::kUpsertFolder;
      break;
    case ItemKind::kAsset:
      op.kind = protocol::OpKind::kUpsertAsset;
      op.sha256 = item.object.sha256;
      op.size = item.object.size;
      op.content_type = item.object.content_type;
      op.version = item.object.version;
      break;
  }
  op.title = item.object.title;
  op.modified_at = item.object.modified_at;
  return op;
}

std::string BatchDelivery::CommitKey(const std::string& author_id,
                                     const std::vector<BatchEntry*>& entries) {
  std::vector<const BatchEntry*> sorted(entries.begin(), entries.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const BatchEntry* a, const BatchEntry* b) { return a->job.id < b->job.id; });
  std::string text = author_id;
  for (const BatchEntry* e : sorted) {
    text += '\n';
    text += std::to_string(e->job.id);
    text += ' ';
    text += protocol::ToJson(OperationFor(e->item)).dump();
  }
  return "pub-" + crypto::Sha256Hex(text).substr(0, 48);
}

template <typename T, typename Fn>
StatusOr<T> BatchDelivery::WithToken(Fn fn) {
  auto token = d_.tokens.Get();
  if (!token.ok()) return token.status();
  StatusOr<T> r = fn(*token);
  if (!r.ok() && r.status().code() == Code::kUnauthenticated) {
    d_.tokens.Invalidate(*token);
    token = d_.tokens.Get();
    if (!token.ok()) return token.status();
    r = fn(*token);
  }
  return r;
}

void BatchDelivery::Deliver(std::vector<BatchEntry>& entries) {
  last_heartbeat_ms_ = d_.clock.NowMillis();
  std::vector<BatchEntry*> open;
  for (auto& e : entries) {
    if (!e.settled) open.push_back(&e);
  }
  if (open.empty()) return;
  DeliverOpen(open);
  Settle();
}

void BatchDelivery::Settle() {
  if (completed_.empty() && sent_.empty()) return;
  // A busy database gets a few tries; the jobs stay running otherwise, their leases expire and
  // the batch is delivered again (a replay at the portal), so nothing is lost but the counters.
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    st = d_.store.SettleBatch(
        [&](store::SqlSession& s) -> Status {
          auto done = d_.queue.CompleteMany(s, completed_, worker_id_);
          if (!done.ok()) return done.status();
          if (done->size() != completed_.size()) {
            log::Warn("publish_complete_not_recorded",
                      {{"jobs", completed_.size() - done->size()},
                       {"error", "no longer running for this worker"}});
          }
          return Status::Ok();
        },
        sent_);
    if (st.ok() || st.code() != Code::kUnavailable) break;
  }
  if (!st.ok()) log::Warn("publish_settle_failed", {{"error", st.ToString()}});
  completed_.clear();
  sent_.clear();
}

void BatchDelivery::DeliverOpen(std::vector<BatchEntry*>& open) {
  // 1. check: which blobs the portal lacks.
  std::vector<std::string> digests;
  std::set<std::string> seen;
  for (BatchEntry* e : open) {
    if (e->item.kind == ItemKind::kAsset && seen.insert(e->item.object.sha256).second) {
      digests.push_back(e->item.object.sha256);
    }
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < digests.size(); i += protocol::kMaxCheckDigests) {
    protocol::CheckRequest req;
    size_t end = std::min(digests.size(), i + protocol::kMaxCheckDigests);
    req.digests.assign(digests.begin() + static_cast<std::ptrdiff_t>(i),
                       digests.begin() + static_cast<std::ptrdiff_t>(end));
    auto r = WithToken<protocol::CheckResponse>(
        [&](const std::string& token) { return channel_.Check(token, req); });
    if (!r.ok()) return FailAll(open, "check failed: " + r.status().message());
    missing.insert(missing.end(), r->missing.begin(), r->missing.end());
  }

  // 2. upload only those.
  if (!UploadMissing(open, missing)) return;
  if (open.empty()) return;

  // 3. commit the manifest.
  if (!MaybeHeartbeat(open)) return;
  Commit(open);
}

bool BatchDelivery::UploadMissing(std::vector<BatchEntry*>& open,
                                  const std::vector<std::string>& missing) {
  std::vector<Upload> uploads;
  uploads.reserve(missing.size());
  for (const std::string& digest : missing) {
    Upload u;
    u.digest = digest;
    for (BatchEntry* e : open) {
      if (e->item.kind == ItemKind::kAsset && e->item.object.sha256 == digest) u.users.push_back(e);
    }
    if (u.users.empty()) continue;  // the portal named a digest this batch did not ask about
    uploads.push_back(std::move(u));
  }

  // Lanes take the next blob until none is left, a transport failure stops them all (the batch
  // is retried as a whole), or the lease is lost. Entries are only read meanwhile: what a lane
  // found is applied below, in order, on this thread.
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto lane = [&](IngestChannel& channel) {
    while (!stop && !lost_) {
      const size_t i = next++;
      if (i >= uploads.size()) return;
      UploadOne(channel, uploads[i], open);
      if (uploads[i].outcome == Upload::Outcome::kFailed) stop = true;
    }
  };
  std::vector<std::thread> threads;
  for (IngestChannel* extra : lanes_) {
    if (threads.size() + 1 >= uploads.size()) break;
    try {
      threads.emplace_back([&lane, extra] { lane(*extra); });
    } catch (const std::system_error& e) {
      // No thread to be had: the lanes already running carry the batch.
      log::Warn("publish_lane_not_started", {{"error", e.what()}});
      break;
    }
  }
  lane(channel_);
  for (auto& t : threads) t.join();

  std::string failure;
  for (Upload& u : uploads) {
    switch (u.outcome) {
      case Upload::Outcome::kSent: {
        // Counted with the batch's completions (Settle), in one transaction.
        SentCount& c = sent_[u.users.front()->item.request_id];
        c.blobs += 1;
        c.bytes += u.size;
        break;
      }
      case Upload::Outcome::kRefused:
        for (BatchEntry* e : u.users) Fail(*e, u.why);
        break;
      case Upload::Outcome::kFailed:
        if (failure.empty()) failure = u.why;
        break;
      case Upload::Outcome::kNotTried:
        break;
    }
  }
  std::erase_if(open, [](BatchEntry* e) { return e->settled; });
  if (lost_) return false;
  if (!failure.empty()) {
    FailAll(open, failure);
    return false;
  }
  return true;
}

void BatchDelivery::UploadOne(IngestChannel& channel, Upload& u,
                              const std::vector<BatchEntry*>& open) {
  auto reader = d_.blobs.Open(u.digest);
  if (!reader.ok()) {
    u.outcome = Upload::Outcome::kRefused;
    u.why = "the original's bytes cannot be read on the author: " + reader.status().message();
    return;
  }
  u.size = (*reader)->size();
  auto r = WithToken<protocol::BlobReceipt>([&](const std::string& token) {
    auto rewound = (*reader)->Seek(0);
    if (!rewound.ok()) return StatusOr<protocol::BlobReceipt>(rewound);
    return channel.Upload(token, u.digest, **reader, u.size, [&](int64_t) -> Status {
      if (!MaybeHeartbeat(open)) {
        return Status(Code::kConflict, "lease_lost", "another worker took the batch");
      }
      return Status::Ok();
    });
  });
  if (lost_) {
    u.outcome = Upload::Outcome::kNotTried;
    return;
  }
  if (r.ok()) {
    u.outcome = Upload::Outcome::kSent;
    return;
  }
  if (IsContentRefusal(r.status())) {
    u.outcome = Upload::Outcome::kRefused;
    u.why = "upload of " + u.digest + " refused: " + r.status().message();
    return;
  }
  // The answer may have been lost after the portal kept the blob (a timeout on a loaded machine):
  // ask. If it has the blob, it was sent by this upload: count it and go on.
  protocol::CheckRequest again;
  again.digests = {u.digest};
  auto present = WithToken<protocol::CheckResponse>(
      [&](const std::string& token) { return channel.Check(token, again); });
  if (!present.ok() || !present->missing.empty()) {
    u.outcome = Upload::Outcome::kFailed;
    u.why = "upload failed: " + r.status().message();
    return;
  }
  log::Warn("publish_upload_answer_lost", {{"sha256", u.digest}, {"error", r.status().ToString()}});
  u.outcome = Upload::Outcome::kSent;
}

void BatchDelivery::Commit(std::vector<BatchEntry*> entries) {
  protocol::CommitRequest req;
  req.idempotency_key = CommitKey(target_.author_id, entries);
  for (BatchEntry* e : entries) req.operations.push_back(OperationFor(e->item));
  auto r = WithToken<protocol::CommitResponse>(
      [&](const std::string& token) { return channel_.Commit(token, req); });
  if (r.ok()) {
    for (BatchEntry* e : entries) Complete(*e);
    return;
  }
  if (!IsContentRefusal(r.status())) {
    return FailAll(entries, "commit failed: " + r.status().message());
  }
  if (entries.size() == 1)
    return Fail(*entries[0], "refused by the portal: " + r.status().message());
  // Isolate the refused item(s): each half commits on its own (with its own key).
  size_t half = entries.size() / 2;
  Commit({entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(half)});
  if (lost_) return;
  Commit({entries.begin() + static_cast<std::ptrdiff_t>(half), entries.end()});
}

bool BatchDelivery::MaybeHeartbeat(const std::vector<BatchEntry*>& open) {
  std::lock_guard lock(heartbeat_mu_);
  if (lost_) return false;
  const int64_t now = d_.clock.NowMillis();
  if (now - last_heartbeat_ms_ < d_.lease.count() / 3) return true;
  last_heartbeat_ms_ = now;
  for (BatchEntry* e : open) {
    if (e->settled) continue;
    Status st = d_.queue.Heartbeat(e->job.id, worker_id_, d_.lease);
    if (!st.ok() && st.code() != Code::kConflict && st.code() != Code::kNotFound) {
      // A busy database is not a lost lease: the next heartbeat tries again.
      log::Warn("publish_heartbeat_failed", {{"job", e->job.id}, {"error", st.ToString()}});
      continue;
    }
    if (!st.ok()) {
      log::Warn("publish_lease_lost", {{"job", e->job.id}, {"error", st.ToString()}});
      lost_ = true;
      return false;
    }
  }
  return true;
}

void BatchDelivery::FailAll(std::vector<BatchEntry*>& open, const std::string& why) {
  for (BatchEntry* e : open) Fail(*e, why);
  open.clear();
}

void BatchDelivery::Fail(BatchEntry& e, const std::string& why) {
  if (e.settled) return;
  e.settled = true;
  auto st = d_.queue.Fail(e.job.id, worker_id_, why);
  if (!st.ok())
    log::Warn("publish_fail_not_recorded", {{"job", e.job.id}, {"error", st.status().ToString()}});
}

void BatchDelivery::Complete(BatchEntry& e) {
  if (e.settled) return;
  e.settled = true;
  completed_.push_back(e.job.id);
}

}  // namespace portico::author::publish

// Test doubles of the publishing engine: an in-memory author (PublishSource and target), an
// in-memory portal behind IngestChannel that follows the protocol's rules (hash-checked blobs,
// the per-path seq rule, idempotency keys), with faults to inject, and a counting token exchanger.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "author/publish/ingest_channel.h"
#include "author/publish/publish_source.h"
#include "author/service/token_provider.h"
#include "core/crypto/sha256.h"
#include "protocol/dam_path.h"

namespace portico::author::publish::testing {

class FakeAuthor final : public PublishSource, public PublishTargetSource {
 public:
  StatusOr<PublishObject> Lookup(const std::string& path) override {
    std::lock_guard lock(mu_);
    auto it = objects_.find(path);
    if (it == objects_.end()) return NotFound("no " + path);
    return it->second;
  }
  StatusOr<std::vector<PublishObject>> Expand(const std::string& folder) override {
    std::lock_guard lock(mu_);
    std::vector<PublishObject> out;
    for (const auto& [p, o] : objects_) {
      if (p == folder || p.starts_with(folder + "/")) out.push_back(o);
    }
    return out;
  }
  StatusOr<int64_t> CurrentSeq() override {
    std::lock_guard lock(mu_);
    return seq_;
  }
  StatusOr<PublishTarget> Target() override {
    std::lock_guard lock(mu_);
    if (agents_.empty()) return Status(Code::kPreconditionFailed, "no_cloud_service", "none");
    return PublishTarget{"http://portal.test", "acme", "http://portal.test/t/acme", "author-1",
                         agents_};
  }

  void AddFolder(const std::string& path) {
    std::lock_guard lock(mu_);
    objects_[path] = PublishObject{.is_folder = true, .path = path, .title = "F", .seq = ++seq_};
  }
  // Adds (or changes) an asset whose bytes are `sha256`'s blob.
  void AddAsset(const std::string& path, const std::string& sha256, int64_t size) {
    std::lock_guard lock(mu_);
    objects_[path] = PublishObject{.path = path,
                                   .title = std::string(protocol::DamName(path)),
                                   .modified_at = 1'700'000'000,
                                   .seq = ++seq_,
                                   .sha256 = sha256,
                                   .size = size,
                                   .content_type = "text/plain",
                                   .version = 1};
  }
  void SetAgents(std::vector<std::string> agents) {
    std::lock_guard lock(mu_);
    agents_ = std::move(agents);
  }

 private:
  std::mutex mu_;
  std::map<std::string, PublishObject> objects_;
  std::vector<std::string> agents_;
  int64_t seq_ = 0;
};

// One portal tenant in memory.
struct FakePortal {
  std::mutex mu;
  std::set<std::string> blobs;
  struct Entry {
    std::string sha256;
    bool folder = false;
  };
  std::map<std::string, Entry> entries;
  std::map<std::string, int64_t> seqs;
  std::map<std::string, int> applies;  // how many times an operation changed each path
  std::map<std::string, protocol::CommitResponse> commits;
  int uploads = 0;
  int commit_calls = 0;
  // Faults.
  Status check_fault;                 // returned by every Check while set
  std::string refuse_path;            // commits holding this path are refused (400)
  bool lose_commit_response = false;  // apply, then answer Unavailable (crash after commit)
  std::set<std::string> bad_tokens;   // answered with 401
  // Concurrency: uploads running at once, the most seen, and a gate that holds each upload until
  // `upload_gate` have been running together (or 5 s passed), so lanes are seen deterministically.
  int in_flight = 0;
  int max_in_flight = 0;
  int upload_gate = 0;
  std::condition_variable gate_cv;
  // With `hold_first_commit`, the first commit waits (`first_commit_held` set) until
  // `release_first_commit` (or 5 s); the others go through.
  bool hold_first_commit = false;
  bool first_commit_held = false;
  bool release_first_commit = false;
};

class FakeChannel final : public IngestChannel {
 public:
  explicit FakeChannel(FakePortal& p) : p_(p) {}
  StatusOr<protocol::CheckResponse> Check(const std::string& token,
                                          const protocol::CheckRequest& r) override {
    std::lock_guard lock(p_.mu);
    if (p_.bad_tokens.count(token)) return Unauthenticated("expired");
    if (!p_.check_fault.ok()) return p_.check_fault;
    protocol::CheckResponse out;
    for (const auto& d : r.digests) {
      if (!p_.blobs.count(d)) out.missing.push_back(d);
    }
    return out;
  }
  StatusOr<protocol::BlobReceipt> Upload(const std::string& token, const std::string& sha256,
                                         store::BlobReader& blob, int64_t size,
                                         const UploadProgress& progress) override {
    {
      std::unique_lock lock(p_.mu);
      if (p_.bad_tokens.count(token)) return Unauthenticated("expired");
      p_.max_in_flight = std::max(p_.max_in_flight, ++p_.in_flight);
      p_.gate_cv.notify_all();
      p_.gate_cv.wait_for(lock, std::chrono::seconds(5),
                          [&] { return p_.max_in_flight >= p_.upload_gate; });
    }
    struct Leave {
      FakePortal& p;
      ~Leave() {
        std::lock_guard lock(p.mu);
        --p.in_flight;
      }
    } leave{p_};
    std::string bytes(static_cast<size_t>(size), '\0');
    PORTICO_ASSIGN_OR_RETURN(size_t n, blob.Read(bytes.data(), bytes.size()));
    if (progress) PORTICO_RETURN_IF_ERROR(progress(static_cast<int64_t>(n)));
    if (crypto::Sha256Hex(bytes.substr(0, n)) != sha256) {
      return Status(Code::kInvalidArgument, "digest_mismatch", "digest mismatch");
    }
    std::lock_guard lock(p_.mu);
    p_.blobs.insert(sha256);
    ++p_.uploads;
    return protocol::BlobReceipt{sha256, size};
  }
  StatusOr<protocol::CommitResponse> Commit(const std::string& token,
                                            const protocol::CommitRequest& r) override {
    std::unique_lock lock(p_.mu);
    if (p_.hold_first_commit && !p_.first_commit_held) {
      p_.first_commit_held = true;
      p_.gate_cv.notify_all();
      p_.gate_cv.wait_for(lock, std::chrono::seconds(5), [&] { return p_.release_first_commit; });
    }
    ++p_.commit_calls;
    if (p_.bad_tokens.count(token)) return Unauthenticated("expired");
    if (auto it = p_.commits.find(r.idempotency_key); it != p_.commits.end()) {
      auto again = it->second;
      again.applied = false;
      return again;
    }
    for (const auto& op : r.operations) {
      if (op.path == p_.refuse_path) return InvalidArgument("refused: " + op.path);
      if (op.kind == protocol::OpKind::kUpsertAsset && !p_.blobs.count(op.sha256)) {
        return Status(Code::kConflict, "missing_blob", "missing blob");
      }
    }
    protocol::CommitResponse out;
    out.idempotency_key = r.idempotency_key;
    for (const auto& op : r.operations) {
      auto s = p_.seqs.find(op.path);
      if (s != p_.seqs.end() && op.seq <= s->second) {
        ++out.skipped;
        continue;
      }
      p_.seqs[op.path] = op.seq;
      ++p_.applies[op.path];
      ++out.operations;
      if (op.kind == protocol::OpKind::kDelete) {
        p_.entries.erase(op.path);
      } else {
        p_.entries[op.path] = {op.sha256, op.kind == protocol::OpKind::kUpsertFolder};
      }
    }
    p_.commits[r.idempotency_key] = out;
    if (p_.lose_commit_response) return Unavailable("connection reset after commit");
    return out;
  }

 private:
  FakePortal& p_;
};

class CountingExchanger final : public TokenExchanger {
 public:
  StatusOr<AccessToken> Exchange() override {
    std::lock_guard lock(mu_);
    ++count_;
    return AccessToken{"token-" + std::to_string(count_), 0, 4'000'000'000'000};
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  int count_ = 0;
};

}  // namespace portico::author::publish::testing

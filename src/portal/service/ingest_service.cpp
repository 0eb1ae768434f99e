#include "portal/service/ingest_service.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "core/crypto/sha256.h"
#include "core/json.h"
#include "protocol/dam_path.h"
#include "store/pipelined_blob_writer.h"

namespace portico::portal {
namespace {

using protocol::OpKind;

constexpr size_t kUploadBuffer = 256 * 1024;
// A blob up to this size is read in one call: each read of a streamed body is a hop to the
// connection's I/O thread and back, so a 200 KB blob costs one hop instead of two or three.
constexpr size_t kUploadReadMax = 1024 * 1024;

// A blob of at least this size is received like the author's upload: into a
// store::PipelinedBlobWriter over a kStreaming writer, so the next MiB is received while the
// previous one is hashed and written around the page cache (a large publish does not fill it).
constexpr int64_t kStreamFrom = int64_t{8} << 20;

// The calling thread's upload buffer, at least `size` bytes (handlers run on a fixed pool, so
// this is a few MiB in all, allocated and faulted in once instead of per upload).
std::span<char> UploadBuffer(size_t size) {
  thread_local std::vector<char> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return std::span<char>(buffer.data(), size);
}

// Reads exactly `length` bytes of `body` (a read fills the span unless the body ends), each read
// into the span `space()` gives and handed to `fill(n)`, and asks for nothing past them: the end
// of the body costs no further read. Returns the bytes read, fewer only if the body ended early.
template <typename SpaceFn, typename FillFn>
StatusOr<int64_t> ReceiveExactly(int64_t length, const ByteSource& body, SpaceFn space,
                                 FillFn fill) {
  int64_t total = 0;
  while (total < length) {
    PORTICO_ASSIGN_OR_RETURN(std::span<char> into, space());
    const size_t want = static_cast<size_t>(std::min<int64_t>(length - total, into.size()));
    PORTICO_ASSIGN_OR_RETURN(size_t n, body(into.first(want)));
    if (n == 0) break;
    total += static_cast<int64_t>(n);
    PORTICO_RETURN_IF_ERROR(fill(into.first(n)));
  }
  return total;
}

// The status a dry run returns from its transaction to roll it back.
constexpr std::string_view kDryRunRollback = "dry_run_rollback";

Status NotBoundAuthor() {
  return Status(Code::kPermissionDenied, "not_bound_author",
                "this tenant is bound to another author: only the bound author publishes "
                "(send its id in X-Portico-Author)");
}

bool IsPrintableId(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Validates what the wire parser validates too, so the rules hold for any caller.
Status ValidateOperation(const protocol::Operation& op, size_t index) {
  std::string where = "operations[" + std::to_string(index) + "]";
  auto canonical = protocol::NormalizeDamPath(op.path);
  if (!canonical.ok()) {
    return Status(Code::kInvalidArgument, "invalid_path",
                  where + ".path: " + canonical.status().message());
  }
  if (*canonical != op.path) {
    return Status(Code::kInvalidArgument, "invalid_path", where + ".path is not canonical");
  }
  if (op.path == protocol::kDamRoot) {
    return Status(Code::kInvalidArgument, "invalid_path",
                  where + ": the root folder /content/dam cannot be published or deleted");
  }
  if (op.seq <= 0) return InvalidArgument(where + ".seq must be above 0");
  if (op.kind == OpKind::kUpsertAsset) {
    if (!protocol::IsSha256Hex(op.sha256)) {
      return Status(Code::kInvalidArgument, "invalid_digest",
                    where + ".sha256 must be 64 lowercase hex characters");
    }
    if (op.size < 0) return InvalidArgument(where + ".size must not be negative");
  }
  return Status::Ok();
}

// The ancestors of a canonical path below the root, outermost first.
std::vector<std::string> Ancestors(const std::string& path) {
  std::vector<std::string> out;
  for (std::string p = protocol::DamParent(path); !p.empty() && p != protocol::kDamRoot;
       p = protocol::DamParent(p)) {
    out.push_back(p);
  }
  return {out.rbegin(), out.rend()};
}

// Applies one commit's operations inside its transaction.
class CommitApplier {
 public:
  CommitApplier(PortalTx& tx, const std::string& tenant, int64_t now)
      : tx_(tx), tenant_(tenant), now_(now) {}

  // Applies `op`; sets *applied to false when it was stale.
  Status Apply(const protocol::Operation& op, bool* applied) {
    PORTICO_ASSIGN_OR_RETURN(bool stale, IsStale(op));
    *applied = !stale;
    if (stale) return Status::Ok();
    if (op.kind == OpKind::kDelete) {
      PORTICO_RETURN_IF_ERROR(tx_.DeleteSubtree(tenant_, op.path).status());
      folders_.clear();  // cached folders below it may be gone
    } else {
      EntryType type = op.kind == OpKind::kUpsertFolder ? EntryType::kFolder : EntryType::kAsset;
      PORTICO_ASSIGN_OR_RETURN(auto existing, tx_.GetEntry(tenant_, op.path));
      // The author's latest state says this path is now of the other type: replace it whole.
      if (existing && existing->type != type) {
        PORTICO_RETURN_IF_ERROR(tx_.DeleteSubtree(tenant_, op.path).status());
        folders_.clear();
      }
      PORTICO_RETURN_IF_ERROR(EnsureParents(op.path));
      EntryRecord e;
      e.path = op.path;
      e.parent = protocol::DamParent(op.path);
      e.name = std::string(protocol::DamName(op.path));
      e.type = type;
      e.title = op.title;
      e.modified_at = op.modified_at;
      e.published_at = now_;
      if (type == EntryType::kAsset) {
        e.sha256 = op.sha256;
        e.size = op.size;
        e.content_type = op.content_type;
        e.version = op.version;
      }
      PORTICO_RETURN_IF_ERROR(tx_.PutEntry(tenant_, e));
      if (type == EntryType::kFolder) folders_.insert(op.path);
    }
    const PathSeq seq{op.seq, op.kind == OpKind::kDelete};
    PORTICO_RETURN_IF_ERROR(tx_.PutSeq(tenant_, op.path, seq));
    seqs_[op.path] = seq;
    return Status::Ok();
  }

 private:
  StatusOr<bool> IsStale(const protocol::Operation& op) {
    PORTICO_ASSIGN_OR_RETURN(auto last, Seq(op.path));
    if (last && op.seq <= last->seq) return true;
    // A newer delete of a folder above wins over an older change below it.
    for (const auto& a : Ancestors(op.path)) {
      PORTICO_ASSIGN_OR_RETURN(auto s, Seq(a));
      if (s && s->deleted && s->seq >= op.seq) return true;
    }
    return false;
  }

  // The path's last applied seq, read once per transaction (a batch's operations share their
  // ancestors) and kept up to date by Apply.
  StatusOr<std::optional<PathSeq>> Seq(const std::string& path) {
    if (auto it = seqs_.find(path); it != seqs_.end()) return it->second;
    PORTICO_ASSIGN_OR_RETURN(auto s, tx_.GetSeq(tenant_, path));
    seqs_.emplace(path, s);
    return s;
  }

  Status EnsureParents(const std::string& path) {
    for (const auto& a : Ancestors(path)) {
      if (folders_.count(a)) continue;
      PORTICO_ASSIGN_OR_RETURN(auto e, tx_.GetEntry(tenant_, a));
      if (!e || e->type != EntryType::kFolder) {
        if (e) PORTICO_RETURN_IF_ERROR(tx_.DeleteSubtree(tenant_, a).status());
        EntryRecord f;
        f.path = a;
        f.parent = protocol::DamParent(a);
        f.name = std::string(protocol::DamName(a));
        f.type = EntryType::kFolder;
        f.modified_at = now_;
        f.published_at = now_;
        PORTICO_RETURN_IF_ERROR(tx_.PutEntry(tenant_, f));
      }
      folders_.insert(a);
    }
    return Status::Ok();
  }

  PortalTx& tx_;
  const std::string& tenant_;
  int64_t now_;
  std::set<std::string> folders_;  // known to exist as folders in this transaction
  std::map<std::string, std::optional<PathSeq>> seqs_;  // path_seqs read or written here
};

}  // namespace

IngestService::IngestService(PortalStore& store, store::BlobStore& blobs, TenantService& tenants,
                             const Clock& clock)
    : store_(store), blobs_(blobs), tenants_(tenants), clock_(clock) {}

StatusOr<TenantRecord> IngestService::IngestTenant(const Caller& caller, const std::string& name,
                                                   const std::string& author_id,
                                                   bool check_author) {
  PORTICO_ASSIGN_OR_RETURN(ResolvedTenant r, tenants_.Resolve(caller, name));
  if (!caller.HasScope(protocol::kPortalScope)) {
    return Status(Code::kPermissionDenied, "insufficient_scope",
                  "publishing needs a token with the scope " + std::string(protocol::kPortalScope) +
                      " (the portal API's metascope)");
  }
  if (r.via_alias) {
    return Status(Code::kInvalidArgument, "alias_url",
                  "'" + name + "' is an alias of the tenant '" + r.tenant.id +
                      "'; publish to the tenant URL " + tenants_.TenantUrl(r.tenant));
  }
  if (check_author && r.tenant.bound_author_id.empty()) {
    return Status(Code::kPermissionDenied, "not_bound_author",
                  "no author is bound to this tenant yet: the author's handshake binds it first "
                  "(bind: true)");
  }
  if (check_author && author_id != r.tenant.bound_author_id) return NotBoundAuthor();
  return r.tenant;
}

StatusOr<protocol::HandshakeResponse> IngestService::Handshake(
    const Caller& caller, const std::string& tenant, const protocol::HandshakeRequest& request) {
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, IngestTenant(caller, tenant, "", false));
  if (request.protocol_version < protocol::kMinAuthorProtocolVersion) {
    return Status(Code::kInvalidArgument, "unsupported_version",
                  protocol::AuthorTooOldMessage(request.protocol_version,
                                                protocol::kMinAuthorProtocolVersion));
  }
  if (request.min_protocol_version > protocol::kPublishProtocolVersion) {
    return Status(Code::kInvalidArgument, "unsupported_version",
                  protocol::PortalTooOldMessage(protocol::kPublishProtocolVersion,
                                                request.min_protocol_version));
  }
  if (!IsPrintableId(request.author_id)) {
    return InvalidArgument("author_id must be 1 to 128 printable ASCII characters");
  }
  auto already_bound = [&](const TenantRecord& rec) {
    std::string where = rec.bound_author_url.empty() ? "" : " at " + rec.bound_author_url;
    return Status(Code::kConflict, "author_already_bound",
                  "the tenant '" + rec.id + "' is already bound to another author" + where +
                      "; a tenant accepts publications from one author only");
  };
  if (!t.bound_author_id.empty() && t.bound_author_id != request.author_id) {
    return already_bound(t);
  }
  if (request.bind) {
    PORTICO_ASSIGN_OR_RETURN(t, tenants_.BindAuthor(t.id, request.author_id, request.author_url));
    if (t.bound_author_id != request.author_id) return already_bound(t);  // lost a race
  }
  protocol::HandshakeResponse out;
  out.tenant = t.id;
  out.org = t.org;
  out.bound_author_id = t.bound_author_id;
  return out;
}

StatusOr<protocol::CheckResponse> IngestService::Check(const Caller& caller,
                                                       const std::string& tenant,
                                                       const std::string& author_id,
                                                       const protocol::CheckRequest& request) {
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, IngestTenant(caller, tenant, author_id, true));
  if (request.digests.size() > protocol::kMaxCheckDigests) {
    return InvalidArgument("at most " + std::to_string(protocol::kMaxCheckDigests) +
                           " digests per check");
  }
  for (const auto& d : request.digests) {
    if (!protocol::IsSha256Hex(d)) {
      return Status(Code::kInvalidArgument, "invalid_digest",
                    "digests must be 64 lowercase hex characters");
    }
  }
  protocol::CheckResponse out;
  PORTICO_ASSIGN_OR_RETURN(out.missing, store_.MissingBlobs(t.id, request.digests));
  return out;
}

StatusOr<BlobUpload> IngestService::PutBlob(const Caller& caller, const std::string& tenant,
                                            const std::string& author_id, const std::string& sha256,
                                            std::optional<int64_t> content_length,
                                            const ByteSource& body) {
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, IngestTenant(caller, tenant, author_id, true));
  if (!protocol::IsSha256Hex(sha256)) {
    return Status(Code::kInvalidArgument, "invalid_digest",
                  "the blob's name must be its sha256: 64 lowercase hex characters");
  }
  if (!content_length) {
    return Status(Code::kInvalidArgument, "length_required",
                  "send the blob with a Content-Length (chunked uploads are not accepted)");
  }
  if (*content_length < 0) return InvalidArgument("the Content-Length is negative");
  std::unique_ptr<store::BlobWriter> writer;
  int64_t total = 0;
  if (*content_length >= kStreamFrom) {
    PORTICO_ASSIGN_OR_RETURN(auto inner, blobs_.NewWriter(store::WriteHint::kStreaming));
    auto piped = std::make_unique<store::PipelinedBlobWriter>(std::move(inner));
    PORTICO_ASSIGN_OR_RETURN(total,
                             ReceiveExactly(
                                 *content_length, body, [&] { return piped->Space(); },
                                 [&](std::span<char> got) { return piped->Fill(got.size()); }));
    writer = std::move(piped);
  } else {
    PORTICO_ASSIGN_OR_RETURN(writer, blobs_.NewWriter());
    std::span<char> buffer =
        UploadBuffer(static_cast<size_t>(std::clamp<int64_t>(*content_length, 1, kUploadReadMax)));
    PORTICO_ASSIGN_OR_RETURN(
        total, ReceiveExactly(
                   *content_length, body, [&] { return StatusOr<std::span<char>>(buffer); },
                   [&](std::span<char> got) {
                     return writer->Append(std::string_view(got.data(), got.size()));
                   }));
  }
  if (total != *content_length) {
    return InvalidArgument("the body ended after " + std::to_string(total) + " of " +
                           std::to_string(*content_length) + " bytes");
  }
  // Not durable yet: the commit that first names it syncs it (SyncNamedBlobs), so one sync of
  // the file system serves a whole batch instead of one fsync per blob.
  PORTICO_ASSIGN_OR_RETURN(store::BlobInfo info, writer->CommitDeferred(sha256));
  {
    std::lock_guard lock(written_mu_);
    written_here_.insert(info.sha256);
  }
  PORTICO_ASSIGN_OR_RETURN(bool created, store_.AddBlob(t.id, info.sha256, info.size,
                                                        clock_.NowSeconds(), /*synced=*/false));
  return BlobUpload{{info.sha256, info.size}, created};
}

StatusOr<std::set<std::string>> IngestService::SyncNamedBlobs(
    const std::string& tenant, const protocol::CommitRequest& request) {
  std::vector<std::string> named;
  {
    std::set<std::string> seen;
    for (const auto& op : request.operations) {
      if (op.kind == OpKind::kUpsertAsset && seen.insert(op.sha256).second) {
        named.push_back(op.sha256);
      }
    }
  }
  PORTICO_ASSIGN_OR_RETURN(auto unsynced, store_.UnsyncedBlobs(tenant, named));
  std::vector<std::string> to_sync;
  for (const auto& digest : unsynced) {
    bool mine = false;
    {
      std::lock_guard lock(written_mu_);
      mine = written_here_.count(digest) > 0;
    }
    // Written by this process, which has run since: no power cut came in between, so the page
    // cache holds the verified bytes and syncing them is enough. Otherwise (written before a
    // restart, or by another replica) the file may have been damaged by a power cut: read it.
    if (!mine && !BlobIntact(digest)) {
      PORTICO_RETURN_IF_ERROR(store_.ForgetUnsyncedBlob(tenant, digest));
      continue;  // the commit now finds it missing; the author uploads it again
    }
    to_sync.push_back(digest);
  }
  Status synced = blobs_.Sync(to_sync);
  if (synced.code() == Code::kNotFound) {
    // A recorded blob's file is gone (removed by hand?): forget it, so the commit answers
    // missing_blob and the author uploads it again, instead of failing every retry.
    std::vector<std::string> present;
    for (const auto& digest : to_sync) {
      PORTICO_ASSIGN_OR_RETURN(bool exists, blobs_.Exists(digest));
      if (exists) {
        present.push_back(digest);
      } else {
        PORTICO_RETURN_IF_ERROR(store_.ForgetUnsyncedBlob(tenant, digest));
      }
    }
    to_sync = std::move(present);
    synced = blobs_.Sync(to_sync);
  }
  PORTICO_RETURN_IF_ERROR(synced);
  return std::set<std::string>(to_sync.begin(), to_sync.end());
}

bool IngestService::BlobIntact(const std::string& sha256) {
  auto reader = blobs_.Open(sha256);
  if (!reader.ok()) return false;
  crypto::Sha256 hash;
  std::unique_ptr<char[]> buffer(new char[kUploadBuffer]);
  while (true) {
    auto n = (*reader)->Read(buffer.get(), kUploadBuffer);
    if (!n.ok()) return false;
    if (*n == 0) break;
    hash.Update(std::string_view(buffer.get(), *n));
  }
  return hash.FinalHex() == sha256;
}

StatusOr<protocol::CommitResponse> IngestService::Commit(const Caller& caller,
                                                         const std::string& tenant,
                                                         const std::string& author_id,
                                                         const protocol::CommitRequest& request) {
  PORTICO_ASSIGN_OR_RETURN(TenantRecord t, IngestTenant(caller, tenant, author_id, true));
  if (request.operations.empty() || request.operations.size() > protocol::kMaxCommitOperations) {
    return InvalidArgument("a commit has 1 to " + std::to_string(protocol::kMaxCommitOperations) +
                           " operations");
  }
  if (request.idempotency_key.empty() || request.idempotency_key.size() > 128) {
    return InvalidArgument("idempotency_key must be 1 to 128 characters");
  }
  for (size_t i = 0; i < request.operations.size(); ++i) {
    PORTICO_RETURN_IF_ERROR(ValidateOperation(request.operations[i], i));
  }
  protocol::CommitRequest canonical = request;
  canonical.dry_run = false;
  const std::string digest = crypto::Sha256Hex(JsonDump(protocol::ToJson(canonical)));
  const int64_t now = clock_.NowSeconds();

  // The blobs this commit names are made durable before it, outside the write transaction (a
  // sync holds no lock): a committed manifest never names a blob a power cut can take away.
  PORTICO_ASSIGN_OR_RETURN(std::set<std::string> synced, SyncNamedBlobs(t.id, request));

  protocol::CommitResponse out;
  out.idempotency_key = request.idempotency_key;
  Status st = store_.Transaction([&](PortalTx& tx) -> Status {
    PORTICO_ASSIGN_OR_RETURN(auto previous, tx.GetCommit(t.id, request.idempotency_key));
    if (previous) {
      if (previous->request_digest != digest) {
        return Status(Code::kConflict, "idempotency_key_reused",
                      "this idempotency key was used for a different commit");
      }
      auto j = ParseStrictJson(previous->response_json);
      if (!j.ok()) return Internal("a stored commit response is unreadable");
      PORTICO_ASSIGN_OR_RETURN(out, protocol::ParseCommitResponse(*j));
      out.applied = false;
      return Status::Ok();
    }
    // Every blob first: a commit naming one the tenant has not uploaded changes nothing.
    std::vector<std::string> missing;
    size_t missing_count = 0;
    std::set<std::string> seen;
    for (const auto& op : request.operations) {
      if (op.kind != OpKind::kUpsertAsset || !seen.insert(op.sha256).second) continue;
      PORTICO_ASSIGN_OR_RETURN(auto blob, tx.GetBlob(t.id, op.sha256));
      if (!blob) {
        ++missing_count;
        if (missing.size() < kMissingBlobsListed) missing.push_back(op.sha256);
      } else if (blob->size != op.size) {
        return Status(Code::kInvalidArgument, "size_mismatch",
                      "the asset " + op.path + " states " + std::to_string(op.size) +
                          " bytes but its blob has " + std::to_string(blob->size));
      } else if (!blob->synced) {
        // Uploaded after SyncNamedBlobs looked (rare): synced here, under the lock.
        if (!synced.count(op.sha256)) {
          bool mine = false;
          {
            std::lock_guard lock(written_mu_);
            mine = written_here_.count(op.sha256) > 0;
          }
          if (!mine) {
            return Unavailable("a blob of this commit is being uploaded again; retry the commit");
          }
          std::string digest = op.sha256;
          PORTICO_RETURN_IF_ERROR(blobs_.Sync(std::span<const std::string>(&digest, 1)));
          synced.insert(digest);
        }
        PORTICO_RETURN_IF_ERROR(tx.MarkBlobSynced(t.id, op.sha256));
      }
    }
    if (missing_count > 0) {
      std::string list;
      for (const auto& d : missing) list += (list.empty() ? "" : ", ") + d;
      if (missing_count > missing.size()) {
        list += " and " + std::to_string(missing_count - missing.size()) + " more";
      }
      return Status(Code::kConflict, "missing_blob",
                    std::to_string(missing_count) +
                        " blob(s) named by the commit are not at the portal: " + list +
                        "; upload them, then commit again (nothing was applied)");
    }
    CommitApplier applier(tx, t.id, now);
    for (const auto& op : request.operations) {
      bool applied = false;
      PORTICO_RETURN_IF_ERROR(applier.Apply(op, &applied));
      ++(applied ? out.operations : out.skipped);
    }
    if (request.dry_run) {
      return Status(Code::kPreconditionFailed, std::string(kDryRunRollback), "dry run");
    }
    return tx.PutCommit(t.id, request.idempotency_key, {digest, JsonDump(protocol::ToJson(out))},
                        now);
  });
  if (!st.ok() && !(request.dry_run && st.error() == kDryRunRollback)) return st;
  if (!request.dry_run && !synced.empty()) {
    std::lock_guard lock(written_mu_);
    for (const auto& d : synced) written_here_.erase(d);
  }
  return out;
}

}  // namespace portico::portal

// The ingest side of the publish protocol (protocol/publish.h, SPEC P2): handshake and binding,
// check, blob upload and commit, for one tenant at a time.
//
// Every call first resolves the tenant for the caller: a token of another org gets 404
// unknown_tenant (as if the tenant did not exist); a token without the scope ent_portal_sdk gets
// 403 insufficient_scope; a tenant reached through its alias gets 400 alias_url naming the
// tenant's URL; every call but the handshake needs a bound author and its id in
// X-Portico-Author, else 403 not_bound_author.
//
// Thread-safe; every call blocks (database, blob store). Commits are serialized by the database.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_set>

#include "core/clock.h"
#include "core/status.h"
#include "portal/service/caller.h"
#include "portal/service/tenant_service.h"
#include "portal/store/portal_store.h"
#include "protocol/publish.h"
#include "store/blob_store.h"

namespace portico::portal {

// Reads the next bytes of an upload into the span; returns the count, 0 at the end.
using ByteSource = std::function<StatusOr<size_t>(std::span<char>)>;

struct BlobUpload {
  protocol::BlobReceipt receipt;
  bool created = false;  // false: the tenant had this blob already
};

// How many missing digests a missing_blob error lists.
inline constexpr size_t kMissingBlobsListed = 20;

class IngestService {
 public:
  IngestService(PortalStore& store, store::BlobStore& blobs, TenantService& tenants,
                const Clock& clock);

  // Checks versions (400 unsupported_version with the protocol's messages) and, with bind, binds
  // the author if none is; another bound author gives 409 author_already_bound.
  StatusOr<protocol::HandshakeResponse> Handshake(const Caller& caller, const std::string& tenant,
                                                  const protocol::HandshakeRequest& request);

  // The digests the tenant does not have (blobs are per tenant: see PortalStore::MissingBlobs).
  StatusOr<protocol::CheckResponse> Check(const Caller& caller, const std::string& tenant,
                                          const std::string& author_id,
                                          const protocol::CheckRequest& request);

  // Streams one blob of `content_length` bytes into the blob store, hashing as it writes; only
  // bytes whose sha256 is `sha256` become visible (400 digest_mismatch otherwise, nothing kept).
  // A body shorter than content_length is refused the same way; `body` is asked for exactly
  // content_length bytes and never past them (over HTTP the framing ends the body there), in
  // reads of up to 1 MiB, so a blob up to 1 MiB takes one read. Constant memory.
  StatusOr<BlobUpload> PutBlob(const Caller& caller, const std::string& tenant,
                               const std::string& author_id, const std::string& sha256,
                               std::optional<int64_t> content_length, const ByteSource& body);

  // Applies the operations in one transaction, once per idempotency key (a replay answers the
  // first response with applied=false; the same key with other operations is 409
  // idempotency_key_reused). Every blob an upsert names must have been uploaded by this tenant
  // with the stated size, else the whole commit is refused (409 missing_blob listing up to
  // kMissingBlobsListed digests; 400 size_mismatch). Per path, an operation whose seq is not
  // above the last one applied (deletes leave tombstones), or below the seq of a deleted
  // ancestor, is skipped. An upsert creates missing parent folders; a delete removes the subtree.
  // dry_run: everything is validated and applied, then rolled back.
  StatusOr<protocol::CommitResponse> Commit(const Caller& caller, const std::string& tenant,
                                            const std::string& author_id,
                                            const protocol::CommitRequest& request);

 private:
  // The tenant for an ingest call; `author_id` is checked against the bound author unless
  // `check_author` is false (the handshake names its author in its body).
  StatusOr<TenantRecord> IngestTenant(const Caller& caller, const std::string& tenant,
                                      const std::string& author_id, bool check_author);

  // Syncs (BlobStore::Sync, one call) the blobs the commit names that the tenant's records say
  // are not durable yet; returns them. One written before this process started is first read
  // and hashed, and forgotten if damaged (so the commit finds it missing).
  StatusOr<std::set<std::string>> SyncNamedBlobs(const std::string& tenant,
                                                 const protocol::CommitRequest& request);
  // Whether blob `sha256` is stored and its bytes hash to its name.
  bool BlobIntact(const std::string& sha256);

  PortalStore& store_;
  store::BlobStore& blobs_;
  TenantService& tenants_;
  const Clock& clock_;
  // Blobs this process wrote without sync and has not synced yet: their page-cache bytes are
  // the verified ones (a power cut would have ended the process).
  std::mutex written_mu_;
  std::unordered_set<std::string> written_here_;
};

}  // namespace portico::portal

// Content-addressed blob storage: immutable byte strings named by the SHA-256 of their content.
// One interface over the filesystem (fs_blob_store.h) and, later, S3, so services never see where
// the bytes live.
//
// A digest is always 64 lowercase hex characters; every method refuses anything else with
// InvalidArgument (error id "invalid_digest") before touching storage, so a hostile value such as
// "../../etc" never reaches a path or a key. Every call blocks on I/O: run it on the blocking pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace portico::store {

// What a committed blob is.
struct BlobInfo {
  std::string sha256;  // 64 lowercase hex characters
  int64_t size = 0;    // bytes
};

// True if `digest` is exactly 64 characters of [0-9a-f].
inline bool IsValidSha256Hex(std::string_view digest) {
  if (digest.size() != 64) return false;
  for (char c : digest) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Streams one new blob into the store. Nothing is visible under any digest until Commit succeeds;
// destroying the writer without a successful Commit discards what was written (a client that
// disconnects mid-upload leaves nothing behind). Memory use does not depend on the blob's size.
// Not thread-safe: one writer belongs to one thread at a time.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;

  // Appends `data` to the blob and to its running SHA-256. After a failure the writer is broken:
  // later calls fail and the bytes are discarded when it is destroyed.
  virtual Status Append(std::string_view data) = 0;

  // Bytes appended so far.
  virtual int64_t size() const = 0;

  // Makes the blob durable and visible under its SHA-256, and returns its digest and size. If
  // `expected_sha256_hex` is given and differs from the digest of the bytes written, fails with
  // InvalidArgument and error id "digest_mismatch", and nothing becomes visible. Committing
  // content the store already holds succeeds without changing the stored blob (blobs are
  // immutable; concurrent writers of the same content all succeed). Whatever the outcome, the
  // writer is spent: a second Commit fails with PreconditionFailed.
  virtual StatusOr<BlobInfo> Commit(std::optional<std::string> expected_sha256_hex) = 0;

  // Commit without the durability: the blob is visible and complete at once for every reader
  // (and survives the process being killed), but until BlobStore::Sync names it a power cut may
  // lose or truncate it. For callers that make many blobs and have one durability point of their
  // own (a manifest commit): they Sync the blobs it names just before it, and must never let a
  // durable record name a blob that was not synced. Content the store already holds is checked
  // (re-read and hashed) before it is kept, so a damaged copy left by a power cut is replaced.
  // The default is Commit (durable at once).
  virtual StatusOr<BlobInfo> CommitDeferred(std::optional<std::string> expected_sha256_hex) {
    return Commit(std::move(expected_sha256_hex));
  }
};

// Reads one stored blob. The content it reads never changes, even if the blob is removed from the
// store while the reader is open (it then keeps reading what it opened). Not thread-safe.
class BlobReader {
 public:
  virtual ~BlobReader() = default;

  // The blob's size in bytes.
  virtual int64_t size() const = 0;

  // Reads up to `capacity` bytes at the current position into `buffer` and advances past them.
  // Returns the number read, fewer than `capacity` only at the end of the blob, 0 at the end.
  virtual StatusOr<size_t> Read(char* buffer, size_t capacity) = 0;

  // Moves the current position to `offset` (0 <= offset <= size(), else RangeNotSatisfiable).
  virtual Status Seek(int64_t offset) = 0;

  // Reads up to `capacity` bytes starting at `offset`, without using or moving the current
  // position. Returns the number read: fewer than `capacity` only at the end, 0 when `offset` is
  // size(). An offset outside 0..size() fails with RangeNotSatisfiable.
  virtual StatusOr<size_t> ReadAt(int64_t offset, char* buffer, size_t capacity) = 0;
};

// How a new writer will be fed: a hint a store may use to write faster, never a change of what
// the writer does or promises.
enum class WriteHint {
  // Any pieces, any sizes; what most writers are (many small blobs, bodies as they arrive).
  kDefault,
  // One large blob, appended in pieces of a multiple of kStreamingAlignment bytes that start at
  // addresses aligned to it (the last piece may be shorter). The filesystem store writes such
  // pieces around the page cache (O_DIRECT), the disk write of each overlapping its hashing: no
  // copy into the cache and no write-back left for the commit. Each Append then waits for the
  // disk, so many small blobs must not ask for it.
  kStreaming,
};
inline constexpr size_t kStreamingAlignment = 4096;

// A store of blobs. Thread-safe: any number of threads (and, for the filesystem store, processes
// sharing its root) may call any method at once.
class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Starts a new blob, fed as `hint` says. Fails with Internal if the store cannot make its
  // temporary file.
  virtual StatusOr<std::unique_ptr<BlobWriter>> NewWriter(WriteHint hint) = 0;
  StatusOr<std::unique_ptr<BlobWriter>> NewWriter() { return NewWriter(WriteHint::kDefault); }

  // Whether the blob `sha256` is stored.
  virtual StatusOr<bool> Exists(std::string_view sha256) = 0;

  // The size of blob `sha256`; NotFound if it is not stored.
  virtual StatusOr<int64_t> Size(std::string_view sha256) = 0;

  // Opens blob `sha256` for reading; NotFound if it is not stored.
  virtual StatusOr<std::unique_ptr<BlobReader>> Open(std::string_view sha256) = 0;

  // Deletes blob `sha256`; OK if it was not stored (garbage collection may race with itself).
  // Open readers keep reading. Deciding that no one references the blob is the caller's job.
  virtual Status Remove(std::string_view sha256) = 0;

  // The digests of `digests` that are not stored, in the given order (duplicates kept). Fails
  // with InvalidArgument, checking nothing, if any digest is malformed.
  virtual StatusOr<std::vector<std::string>> Missing(std::span<const std::string> digests) = 0;

  // Makes the named blobs durable (those committed with CommitDeferred; durable ones cost little):
  // once this returns OK a power cut keeps them whole. One call for many blobs is much cheaper
  // than one durable Commit each. NotFound if one is not stored, InvalidArgument for a malformed
  // digest. The default does nothing (stores whose commits are always durable).
  virtual Status Sync(std::span<const std::string> digests) {
    (void)digests;
    return Status::Ok();
  }
};

}  // namespace portico::store

// A BlobWriter that overlaps receiving a blob with storing it: the caller fills one piece while a
// background thread passes the previous piece to the wrapped writer (which hashes and writes it).
// Two pieces of `piece_bytes` each, so memory stays constant whatever the blob's size.
//
// The thread starts with the first full piece: a blob that fits in one piece is written on the
// caller's thread at Commit, with no thread at all. A failure of the wrapped writer surfaces on
// the next call (Space, Fill, Append or Commit); the writer is broken from then on. Destroying it
// without a successful Commit stops the thread (after at most the piece in hand) and destroys the
// wrapped writer, which discards what was written. Like every BlobWriter, one writer belongs to
// one thread at a time (the background thread is its own business).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.h"
#include "store/blob_store.h"

namespace portico::store {

class PipelinedBlobWriter final : public BlobWriter {
 public:
  static constexpr size_t kDefaultPieceBytes = 1 << 20;

  explicit PipelinedBlobWriter(std::unique_ptr<BlobWriter> inner,
                               size_t piece_bytes = kDefaultPieceBytes);
  ~PipelinedBlobWriter() override;
  PipelinedBlobWriter(const PipelinedBlobWriter&) = delete;
  PipelinedBlobWriter& operator=(const PipelinedBlobWriter&) = delete;

  // Zero-copy appending: the free space of the piece being filled (waiting for a piece to come
  // back from the thread when both are in use). Write up to its size into it, then call Fill.
  StatusOr<std::span<char>> Space();
  // Appends the first `n` bytes of the last Space() (n <= its size); a full piece goes to the
  // thread.
  Status Fill(size_t n);

  // Copies `data` into pieces (Space + Fill).
  Status Append(std::string_view data) override;
  // Bytes appended so far (accepted, not necessarily stored yet).
  int64_t size() const override { return size_; }
  // Waits until every piece is stored, then commits the wrapped writer on this thread.
  StatusOr<BlobInfo> Commit(std::optional<std::string> expected_sha256_hex) override;
  // The same, ending in the wrapped writer's CommitDeferred (see BlobWriter).
  StatusOr<BlobInfo> CommitDeferred(std::optional<std::string> expected_sha256_hex) override;

 private:
  struct AlignedDelete {
    void operator()(char* p) const;
  };
  struct Piece {
    std::unique_ptr<char[], AlignedDelete> data;  // aligned to kStreamingAlignment
    size_t size = 0;                              // bytes filled
    bool busy = false;                            // queued for, or being stored by, the thread
  };

  Status Submit();  // hands the piece being filled to the thread (starting it if needed)
  Status Drain();   // stores what is left and stops the thread (the first half of a commit)
  void Run();       // the thread: stores queued pieces in order
  Status Broken();  // the failure that broke the writer, or OK (takes mu_)
  void StopThread();

  std::unique_ptr<BlobWriter> inner_;
  const size_t piece_bytes_;
  int64_t size_ = 0;
  bool spent_ = false;
  int filling_ = -1;  // the piece the caller fills, -1 for none

  std::mutex mu_;
  std::condition_variable cv_;
  Piece pieces_[2];        // busy flags under mu_
  std::deque<int> queue_;  // under mu_
  bool stop_ = false;      // under mu_
  Status error_;           // under mu_: the first failure of the wrapped writer
  std::thread thread_;
};

}  // namespace portico::store

#include "store/pipelined_blob_writer.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <system_error>
#include <utility>

namespace portico::store {
namespace {

Status Spent() {
  return Status(Code::kPreconditionFailed, "blob store: the writer was already committed");
}

}  // namespace

void PipelinedBlobWriter::AlignedDelete::operator()(char* p) const {
  ::operator delete[](p, std::align_val_t{kStreamingAlignment});
}

PipelinedBlobWriter::PipelinedBlobWriter(std::unique_ptr<BlobWriter> inner, size_t piece_bytes)
    : inner_(std::move(inner)), piece_bytes_(std::max<size_t>(piece_bytes, 1)) {}

PipelinedBlobWriter::~PipelinedBlobWriter() {
  StopThread();
  // inner_ goes last: destroyed uncommitted, it discards what was written.
}

void PipelinedBlobWriter::StopThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status PipelinedBlobWriter::Broken() {
  std::lock_guard lock(mu_);
  return error_;
}

StatusOr<std::span<char>> PipelinedBlobWriter::Space() {
  if (spent_) return Spent();
  if (filling_ < 0) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !error_.ok() || !pieces_[0].busy || !pieces_[1].busy; });
    if (!error_.ok()) return error_;
    filling_ = pieces_[0].busy ? 1 : 0;
  } else {
    PORTICO_RETURN_IF_ERROR(Broken());
  }
  Piece& p = pieces_[filling_];
  if (!p.data) {
    // Uninitialised (written before read); aligned for a streaming writer (see WriteHint).
    p.data.reset(
        static_cast<char*>(::operator new[](piece_bytes_, std::align_val_t{kStreamingAlignment})));
  }
  return std::span<char>(p.data.get() + p.size, piece_bytes_ - p.size);
}

Status PipelinedBlobWriter::Fill(size_t n) {
  if (spent_) return Spent();
  if (filling_ < 0 || n > piece_bytes_ - pieces_[filling_].size) {
    return Internal("blob store: Fill without Space, or beyond it");
  }
  pieces_[filling_].size += n;
  size_ += static_cast<int64_t>(n);
  if (pieces_[filling_].size == piece_bytes_) return Submit();
  return Broken();
}

Status PipelinedBlobWriter::Append(std::string_view data) {
  if (spent_) return Spent();
  while (!data.empty()) {
    PORTICO_ASSIGN_OR_RETURN(std::span<char> space, Space());
    size_t n = std::min(space.size(), data.size());
    std::memcpy(space.data(), data.data(), n);
    PORTICO_RETURN_IF_ERROR(Fill(n));
    data.remove_prefix(n);
  }
  return Broken();
}

Status PipelinedBlobWriter::Submit() {
  const int i = std::exchange(filling_, -1);
  {
    std::lock_guard lock(mu_);
    if (!error_.ok()) {
      pieces_[i].size = 0;  // broken: nothing more is stored
      return error_;
    }
    pieces_[i].busy = true;
    queue_.push_back(i);
  }
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      std::lock_guard lock(mu_);
      error_ = Internal(std::string("blob store: cannot start the writing thread: ") + e.what());
      queue_.clear();
      pieces_[i].busy = false;
      pieces_[i].size = 0;
      return error_;
    }
  }
  cv_.notify_all();
  return Status::Ok();
}

void PipelinedBlobWriter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;  // queued pieces are dropped: the writer is being destroyed or committed
    Piece& p = pieces_[queue_.front()];
    Status st;
    if (error_.ok()) {  // after a failure, pieces are only handed back
      lock.unlock();
      try {
        st = inner_->Append(std::string_view(p.data.get(), p.size));
      } catch (const std::exception& e) {
        st = Internal(std::string("blob store: writing failed: ") + e.what());
      }
      lock.lock();
    }
    queue_.pop_front();
    p.busy = false;
    p.size = 0;
    if (!st.ok() && error_.ok()) error_ = std::move(st);
    cv_.notify_all();
  }
}

StatusOr<BlobInfo> PipelinedBlobWriter::Commit(std::optional<std::string> expected_sha256_hex) {
  PORTICO_RETURN_IF_ERROR(Drain());
  return inner_->Commit(std::move(expected_sha256_hex));
}

StatusOr<BlobInfo> PipelinedBlobWriter::CommitDeferred(
    std::optional<std::string> expected_sha256_hex) {
  PORTICO_RETURN_IF_ERROR(Drain());
  return inner_->CommitDeferred(std::move(expected_sha256_hex));
}

Status PipelinedBlobWriter::Drain() {
  if (spent_) return Spent();
  spent_ = true;
  if (filling_ >= 0) {
    Piece& p = pieces_[filling_];
    if (p.size > 0 && thread_.joinable()) {
      PORTICO_RETURN_IF_ERROR(Submit());
    } else if (p.size > 0) {
      // The whole blob fits in one piece: no thread was needed.
      filling_ = -1;
      PORTICO_RETURN_IF_ERROR(Broken());
      PORTICO_RETURN_IF_ERROR(inner_->Append(std::string_view(p.data.get(), p.size)));
      p.size = 0;
    } else {
      filling_ = -1;
    }
  }
  if (thread_.joinable()) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return queue_.empty(); });
    }
    StopThread();
  }
  return Broken();
}

}  // namespace portico::store

// The pipelined writer: bytes arrive in order and whole, over the filesystem store and over fakes
// that fail, stall or record; errors surface on the next call; destruction discards; memory is
// two pieces whatever the blob's size.
#include "store/pipelined_blob_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto/sha256.h"
#include "status_matchers.h"
#include "store/fs_blob_store.h"
#include "temp_directory.h"

namespace portico::store {
namespace {

using testing::IsOk;
using testing::Pattern;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// What a fake writer saw; shared so the test can look after the writer is gone.
struct Record {
  std::mutex mu;
  std::condition_variable cv;
  std::string data;
  std::vector<size_t> appends;  // sizes of the Append calls
  std::vector<std::thread::id> threads;
  int in_append = 0, max_in_append = 0;
  bool gate_open = true;    // while false, Append waits
  int fail_on_append = -1;  // the 0-based Append call that fails, -1 for none
  int commits = 0;
  int deferred_commits = 0;
  bool destroyed = false;

  void Open() {
    {
      std::lock_guard lock(mu);
      gate_open = true;
    }
    cv.notify_all();
  }
};

class FakeWriter final : public BlobWriter {
 public:
  explicit FakeWriter(std::shared_ptr<Record> r) : r_(std::move(r)) {}
  ~FakeWriter() override {
    std::lock_guard lock(r_->mu);
    r_->destroyed = true;
  }
  Status Append(std::string_view data) override {
    std::unique_lock lock(r_->mu);
    r_->max_in_append = std::max(r_->max_in_append, ++r_->in_append);
    r_->cv.wait(lock, [this] { return r_->gate_open; });
    --r_->in_append;
    const int call = static_cast<int>(r_->appends.size());
    r_->appends.push_back(data.size());
    r_->threads.push_back(std::this_thread::get_id());
    if (call == r_->fail_on_append) return Unavailable("disk full");
    r_->data.append(data);
    size_ += static_cast<int64_t>(data.size());
    return Status::Ok();
  }
  int64_t size() const override { return size_; }
  StatusOr<BlobInfo> Commit(std::optional<std::string>) override {
    std::lock_guard lock(r_->mu);
    ++r_->commits;
    return BlobInfo{crypto::Sha256Hex(r_->data), size_};
  }
  StatusOr<BlobInfo> CommitDeferred(std::optional<std::string>) override {
    std::lock_guard lock(r_->mu);
    ++r_->deferred_commits;
    return BlobInfo{crypto::Sha256Hex(r_->data), size_};
  }

 private:
  std::shared_ptr<Record> r_;
  int64_t size_ = 0;
};

TEST(PipelinedBlobWriter, KeepsOrderAcrossPiecesAndOddSizes) {
  auto rec = std::make_shared<Record>();
  const std::string content = Pattern(100'000, 7);
  {
    PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 4096);
    // Appends of odd sizes and zero-copy fills, mixed.
    size_t at = 0, step = 1;
    while (at < content.size()) {
      size_t n = std::min(step, content.size() - at);
      if (step % 2) {
        ASSERT_OK(w.Append(std::string_view(content).substr(at, n)));
      } else {
        StatusOr<std::span<char>> space = w.Space();
        ASSERT_OK(space.status());
        n = std::min(n, space->size());
        std::memcpy(space->data(), content.data() + at, n);
        ASSERT_OK(w.Fill(n));
      }
      at += n;
      step = step * 3 % 9973 + 1;
    }
    EXPECT_EQ(w.size(), 100'000);
    StatusOr<BlobInfo> info = w.Commit(std::nullopt);
    ASSERT_OK(info.status());
    EXPECT_EQ(info->sha256, crypto::Sha256Hex(content));
    EXPECT_EQ(info->size, 100'000);
  }
  EXPECT_EQ(rec->data, content);
  EXPECT_EQ(rec->commits, 1);
  // Whole pieces went to the wrapped writer (the last one partial), from another thread.
  ASSERT_FALSE(rec->appends.empty());
  for (size_t i = 0; i + 1 < rec->appends.size(); ++i) EXPECT_EQ(rec->appends[i], 4096u);
  EXPECT_NE(rec->threads.front(), std::this_thread::get_id());
}

TEST(PipelinedBlobWriter, ABlobOfOnePieceIsWrittenOnTheCallersThread) {
  auto rec = std::make_shared<Record>();
  PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 4096);
  ASSERT_OK(w.Append("hello"));
  ASSERT_OK(w.Append(" world"));
  StatusOr<BlobInfo> info = w.Commit(std::nullopt);
  ASSERT_OK(info.status());
  EXPECT_EQ(rec->data, "hello world");
  ASSERT_EQ(rec->threads.size(), 1u);
  EXPECT_EQ(rec->threads[0], std::this_thread::get_id());
}

TEST(PipelinedBlobWriter, AFailingWriterSurfacesOnALaterCallAndNothingIsCommitted) {
  auto rec = std::make_shared<Record>();
  rec->fail_on_append = 2;
  {
    PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 1000);
    Status failed;
    for (int i = 0; i < 50 && failed.ok(); ++i) failed = w.Append(Pattern(1000, i));
    // The failure reached the caller on some Append; from then on, every call fails the same.
    if (failed.ok()) failed = w.Commit(std::nullopt).status();
    EXPECT_EQ(failed.code(), Code::kUnavailable) << failed.ToString();
    EXPECT_EQ(w.Append("x").code(), Code::kUnavailable);
    EXPECT_EQ(w.Space().status().code(), Code::kUnavailable);
    EXPECT_FALSE(w.Commit(std::nullopt).ok());
  }
  EXPECT_EQ(rec->commits, 0);
  EXPECT_TRUE(rec->destroyed);
  // Nothing after the failing piece was passed on.
  EXPECT_EQ(rec->appends.size(), 3u);
}

TEST(PipelinedBlobWriter, AFailureInTheLastPieceSurfacesOnCommit) {
  auto rec = std::make_shared<Record>();
  rec->fail_on_append = 1;
  PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 1000);
  ASSERT_OK(w.Append(Pattern(1000, 1)));  // a full piece: the thread starts
  ASSERT_OK(w.Append(Pattern(500, 2)));   // held until Commit, which hands it to the thread
  StatusOr<BlobInfo> info = w.Commit(std::nullopt);
  EXPECT_EQ(info.status().code(), Code::kUnavailable);
  EXPECT_EQ(rec->commits, 0);
  EXPECT_EQ(w.Commit(std::nullopt).status().code(), Code::kPreconditionFailed);
}

TEST(PipelinedBlobWriter, MemoryIsTwoPiecesTheCallerWaitsForTheWriter) {
  auto rec = std::make_shared<Record>();
  rec->gate_open = false;  // the wrapped writer stalls
  PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 1000);
  std::atomic<int> pieces_given{0};
  std::thread producer([&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_OK(w.Append(Pattern(1000, i)));
      ++pieces_given;
    }
  });
  std::this_thread::sleep_for(200ms);
  // One piece in the wrapped writer, one queued; the third waits for a free piece.
  EXPECT_EQ(pieces_given.load(), 2);
  rec->Open();
  producer.join();
  ASSERT_OK(w.Commit(std::nullopt).status());
  EXPECT_EQ(rec->data.size(), 5000u);
  EXPECT_EQ(rec->max_in_append, 1);
}

TEST(PipelinedBlobWriter, DestroyedMidStreamStopsAfterThePieceInHand) {
  auto rec = std::make_shared<Record>();
  rec->gate_open = false;
  auto w = std::make_unique<PipelinedBlobWriter>(std::make_unique<FakeWriter>(rec), 1000);
  ASSERT_OK(w->Append(Pattern(2000, 1)));  // two pieces: one in hand, one queued
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(rec->mu);
      if (rec->in_append == 1) break;
    }
    std::this_thread::sleep_for(2ms);
  }
  std::thread opener([&] {
    std::this_thread::sleep_for(100ms);
    rec->Open();
  });
  w.reset();  // waits for the piece in hand, drops the queued one
  opener.join();
  EXPECT_TRUE(rec->destroyed);
  EXPECT_EQ(rec->commits, 0);
  EXPECT_EQ(rec->appends.size(), 1u);
}

TEST(PipelinedBlobWriter, SpentAfterCommit) {
  auto rec = std::make_shared<Record>();
  PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 1000);
  ASSERT_OK(w.Append("x"));
  ASSERT_OK(w.Commit(std::nullopt).status());
  EXPECT_EQ(w.Append("y").code(), Code::kPreconditionFailed);
  EXPECT_EQ(w.Space().status().code(), Code::kPreconditionFailed);
  EXPECT_EQ(w.Commit(std::nullopt).status().code(), Code::kPreconditionFailed);
  EXPECT_EQ(rec->commits, 1);
}

TEST(PipelinedBlobWriter, ADeferredCommitReachesTheWrappedWriter) {
  auto rec = std::make_shared<Record>();
  const std::string content = Pattern(10'000, 4);
  PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 1000);
  ASSERT_OK(w.Append(content));
  StatusOr<BlobInfo> info = w.CommitDeferred(std::nullopt);
  ASSERT_OK(info.status());
  EXPECT_EQ(info->sha256, crypto::Sha256Hex(content));
  EXPECT_EQ(rec->data, content);
  EXPECT_EQ(rec->deferred_commits, 1);
  EXPECT_EQ(rec->commits, 0);
  EXPECT_EQ(w.CommitDeferred(std::nullopt).status().code(), Code::kPreconditionFailed);
  EXPECT_EQ(w.Commit(std::nullopt).status().code(), Code::kPreconditionFailed);
}

TEST(PipelinedBlobWriter, FillBeyondTheSpaceIsRefused) {
  auto rec = std::make_shared<Record>();
  PipelinedBlobWriter w(std::make_unique<FakeWriter>(rec), 1000);
  EXPECT_FALSE(w.Fill(1).ok());  // no Space yet
  ASSERT_OK(w.Space().status());
  EXPECT_FALSE(w.Fill(1001).ok());
}

class PipelinedOverFsStore : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenFsBlobStore({.root = dir_.path() / "blobs"});
    ASSERT_OK(store.status());
    store_ = std::move(store).value();
  }
  size_t TempFileCount() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_.path() / "blobs" / "tmp"))
      ++n;
    return n;
  }
  std::unique_ptr<PipelinedBlobWriter> NewWriter(size_t piece,
                                                 WriteHint hint = WriteHint::kDefault) {
    auto inner = store_->NewWriter(hint);
    EXPECT_TRUE(IsOk(inner.status()));
    return std::make_unique<PipelinedBlobWriter>(std::move(inner).value(), piece);
  }

  testing::TempDirectory dir_;
  std::unique_ptr<BlobStore> store_;
};

// Over both kinds of writer of the store: the pieces of a kStreaming one are aligned, so its full
// ones are written around the page cache; the bytes read back are the bytes sent either way.
TEST_F(PipelinedOverFsStore, TwentyMegabytesRoundTrip) {
  for (WriteHint hint : {WriteHint::kDefault, WriteHint::kStreaming}) {
    SCOPED_TRACE(hint == WriteHint::kDefault ? "default" : "streaming");
    // Content of its own per pass: the same content would find the first pass's blob in place
    // and keep it, and the streamed file would never be read back.
    const std::string content = Pattern((20 << 20) + 777, hint == WriteHint::kDefault ? 3 : 4);
    auto w = NewWriter(1 << 20, hint);
    for (size_t at = 0; at < content.size();) {
      StatusOr<std::span<char>> space = w->Space();
      ASSERT_OK(space.status());
      size_t n = std::min({space->size(), content.size() - at, size_t{300'000}});
      std::memcpy(space->data(), content.data() + at, n);
      ASSERT_OK(w->Fill(n));
      at += n;
    }
    StatusOr<BlobInfo> info = w->Commit(std::nullopt);
    ASSERT_OK(info.status());
    EXPECT_EQ(info->size, static_cast<int64_t>(content.size()));
    EXPECT_EQ(info->sha256, crypto::Sha256Hex(content));
    auto reader = store_->Open(info->sha256);
    ASSERT_OK(reader.status());
    EXPECT_EQ((*reader)->size(), static_cast<int64_t>(content.size()));
    std::string stored(content.size(), '\0');
    StatusOr<size_t> n = (*reader)->ReadAt(0, stored.data(), stored.size());
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, content.size());
    EXPECT_TRUE(stored == content);
    EXPECT_EQ(TempFileCount(), 0u);
  }
}

TEST_F(PipelinedOverFsStore, DigestMismatchIsTheStoresAnswer) {
  auto w = NewWriter(1000);
  ASSERT_OK(w->Append(Pattern(5000, 1)));
  StatusOr<BlobInfo> info = w->Commit(std::string(64, 'a'));
  EXPECT_EQ(info.status().error(), "digest_mismatch");
  EXPECT_EQ(TempFileCount(), 0u);
}

TEST_F(PipelinedOverFsStore, AbandonedMidStreamLeavesNothing) {
  const std::string content = Pattern(5 << 20, 9);
  {
    auto w = NewWriter(1 << 20);
    ASSERT_OK(w->Append(content));
    EXPECT_EQ(TempFileCount(), 1u);
  }
  EXPECT_EQ(TempFileCount(), 0u);
  auto exists = store_->Exists(crypto::Sha256Hex(content));
  ASSERT_OK(exists.status());
  EXPECT_FALSE(*exists);
}

}  // namespace
}  // namespace portico::store

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/crypto/sha256.h"
#include "status_matchers.h"
#include "store/blob_store.h"
#include "store/fs_blob_store.h"
#include "temp_directory.h"

namespace portico::store {
namespace {

using testing::IsOk;
using testing::Pattern;

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenStore(); }

  std::unique_ptr<BlobStore> OpenStore() {
    StatusOr<std::unique_ptr<BlobStore>> store = OpenFsBlobStore({.root = root()});
    EXPECT_TRUE(IsOk(store.status()));
    return store.ok() ? std::move(store).value() : nullptr;
  }

  fs::path root() const { return dir_.path() / "blobs"; }

  // Writes `content` in pieces of `piece` bytes and commits it.
  StatusOr<BlobInfo> Put(const std::string& content, size_t piece = 4096,
                         std::optional<std::string> expected = std::nullopt) {
    PORTICO_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, store_->NewWriter());
    for (size_t at = 0; at < content.size(); at += piece) {
      PORTICO_RETURN_IF_ERROR(writer->Append(std::string_view(content).substr(at, piece)));
    }
    return writer->Commit(std::move(expected));
  }

  std::string ReadAll(const std::string& digest) {
    StatusOr<std::unique_ptr<BlobReader>> reader = store_->Open(digest);
    EXPECT_TRUE(IsOk(reader.status()));
    if (!reader.ok()) return "";
    std::string out;
    char buffer[1000];
    for (;;) {
      StatusOr<size_t> n = (*reader)->Read(buffer, sizeof buffer);
      EXPECT_TRUE(IsOk(n.status()));
      if (!n.ok() || *n == 0) break;
      out.append(buffer, *n);
    }
    return out;
  }

  // Every file under the root except the store's own: `tmp/` and the `layout` file.
  std::vector<fs::path> VisibleFiles() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root())) {
      if (entry.is_regular_file() && entry.path().parent_path() != root() / "tmp" &&
          entry.path().parent_path() != root()) {
        files.push_back(entry.path());
      }
    }
    return files;
  }

  size_t TempFileCount() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(root() / "tmp")) ++n;
    return n;
  }

  static mode_t ModeOf(const fs::path& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 0777;
  }

  testing::TempDirectory dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, RoundTripStoresUnderItsFolderWithPrivateModes) {
  const std::string content = "hello, brand assets";
  StatusOr<BlobInfo> info = Put(content, 5);
  ASSERT_OK(info.status());
  const std::string hex = crypto::Sha256Hex(content);
  EXPECT_EQ(info->sha256, hex);
  EXPECT_EQ(info->size, static_cast<int64_t>(content.size()));

  StatusOr<bool> exists = store_->Exists(hex);
  ASSERT_OK(exists.status());
  EXPECT_TRUE(*exists);
  StatusOr<int64_t> size = store_->Size(hex);
  ASSERT_OK(size.status());
  EXPECT_EQ(*size, static_cast<int64_t>(content.size()));
  EXPECT_EQ(ReadAll(hex), content);

  const fs::path path = root() / hex.substr(0, 2) / hex;
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(path.parent_path()), 0700u);
  EXPECT_EQ(ModeOf(root() / "tmp"), 0700u);
  EXPECT_EQ(TempFileCount(), 0u);
}

TEST_F(BlobStoreTest, EmptyBlobHasTheEmptyDigest) {
  StatusOr<BlobInfo> info = Put("");
  ASSERT_OK(info.status());
  EXPECT_EQ(info->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(info->size, 0);
  EXPECT_EQ(ReadAll(info->sha256), "");
}

TEST_F(BlobStoreTest, FiftyMegabytesStreamedInPiecesRoundTrip) {
  constexpr int kPieces = 50;
  crypto::Sha256 expected;
  StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
  ASSERT_OK(writer.status());
  for (int i = 0; i < kPieces; ++i) {
    std::string piece = Pattern(1 << 20, i);
    expected.Update(piece);
    ASSERT_OK((*writer)->Append(piece));
  }
  const std::string hex = expected.FinalHex();
  StatusOr<BlobInfo> info = (*writer)->Commit(hex);
  ASSERT_OK(info.status());
  EXPECT_EQ(info->size, int64_t{kPieces} << 20);

  StatusOr<std::unique_ptr<BlobReader>> reader = store_->Open(hex);
  ASSERT_OK(reader.status());
  EXPECT_EQ((*reader)->size(), int64_t{kPieces} << 20);
  crypto::Sha256 actual;
  std::string buffer(256 * 1024, '\0');
  int64_t total = 0;
  for (;;) {
    StatusOr<size_t> n = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_OK(n.status());
    if (*n == 0) break;
    actual.Update(std::string_view(buffer.data(), *n));
    total += static_cast<int64_t>(*n);
  }
  EXPECT_EQ(total, int64_t{kPieces} << 20);
  EXPECT_EQ(actual.FinalHex(), hex);
}

TEST_F(BlobStoreTest, DigestMismatchLeavesNothing) {
  const std::string content = Pattern(100'000, 7);
  const std::string wrong = crypto::Sha256Hex("something else");
  StatusOr<BlobInfo> info = Put(content, 4096, wrong);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(info.status().error(), "digest_mismatch");

  for (const std::string& hex : {crypto::Sha256Hex(content), wrong}) {
    StatusOr<bool> exists = store_->Exists(hex);
    ASSERT_OK(exists.status());
    EXPECT_FALSE(*exists);
  }
  EXPECT_TRUE(VisibleFiles().empty());
  EXPECT_EQ(TempFileCount(), 0u);
}

TEST_F(BlobStoreTest, MatchingExpectedDigestCommits) {
  const std::string content = "expected";
  StatusOr<BlobInfo> info = Put(content, 3, crypto::Sha256Hex(content));
  ASSERT_OK(info.status());
  EXPECT_EQ(ReadAll(info->sha256), content);
}

TEST_F(BlobStoreTest, AbandonedWriterLeavesNothing) {
  {
    StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
    ASSERT_OK(writer.status());
    ASSERT_OK((*writer)->Append(Pattern(10'000, 1)));
    EXPECT_EQ((*writer)->size(), 10'000);
    EXPECT_EQ(TempFileCount(), 1u);  // the upload is in progress
  }
  EXPECT_EQ(TempFileCount(), 0u);
  EXPECT_TRUE(VisibleFiles().empty());
  StatusOr<bool> exists = store_->Exists(crypto::Sha256Hex(Pattern(10'000, 1)));
  ASSERT_OK(exists.status());
  EXPECT_FALSE(*exists);
}

TEST_F(BlobStoreTest, SecondCommitOfSameContentIsIdempotentAndKeepsTheFirstFile) {
  const std::string content = Pattern(5000, 3);
  StatusOr<BlobInfo> first = Put(content);
  ASSERT_OK(first.status());
  const fs::path path = root() / first->sha256.substr(0, 2) / first->sha256;
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  StatusOr<BlobInfo> second = Put(content, 1000);
  ASSERT_OK(second.status());
  EXPECT_EQ(second->sha256, first->sha256);
  EXPECT_EQ(second->size, first->size);
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(VisibleFiles().size(), 1u);
  EXPECT_EQ(TempFileCount(), 0u);
}

TEST_F(BlobStoreTest, DeferredCommitIsVisibleAtOnceAndSyncMakesItDurable) {
  std::vector<std::string> digests;
  for (int i = 0; i < 12; ++i) {
    const std::string content = Pattern(3000 + i, i);
    StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
    ASSERT_OK(writer.status());
    ASSERT_OK((*writer)->Append(content));
    StatusOr<BlobInfo> info = (*writer)->CommitDeferred(std::nullopt);
    ASSERT_OK(info.status());
    EXPECT_EQ(ReadAll(info->sha256), content);
    digests.push_back(info->sha256);
  }
  EXPECT_EQ(TempFileCount(), 0u);
  // Few blobs: each file and folder; many: the whole file system.
  EXPECT_OK(store_->Sync(std::span<const std::string>(digests.data(), 2)));
  EXPECT_OK(store_->Sync(digests));
  EXPECT_OK(store_->Sync({}));
  const std::string absent(64, 'a');
  EXPECT_EQ(store_->Sync(std::span<const std::string>(&absent, 1)).code(), Code::kNotFound);
  const std::string bad = "../x";
  EXPECT_EQ(store_->Sync(std::span<const std::string>(&bad, 1)).error(), "invalid_digest");
}

TEST_F(BlobStoreTest, DeferredCommitReplacesADamagedCopyAndKeepsAnIntactOne) {
  const std::string content = Pattern(5000, 7);
  StatusOr<BlobInfo> first = Put(content);
  ASSERT_OK(first.status());
  const fs::path path = root() / first->sha256.substr(0, 2) / first->sha256;
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  auto deferred = [&] {
    StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
    EXPECT_TRUE(IsOk(writer.status()));
    EXPECT_TRUE(IsOk((*writer)->Append(content)));
    return (*writer)->CommitDeferred(first->sha256);
  };
  ASSERT_OK(deferred().status());
  struct stat kept;
  ASSERT_EQ(::stat(path.c_str(), &kept), 0);
  EXPECT_EQ(kept.st_ino, before.st_ino);  // intact: kept
  // What a power cut can leave of a blob written without sync: a short file.
  fs::resize_file(path, 100);
  ASSERT_OK(deferred().status());
  EXPECT_EQ(ReadAll(first->sha256), content);
  EXPECT_EQ(VisibleFiles().size(), 1u);
  EXPECT_EQ(TempFileCount(), 0u);
}

TEST_F(BlobStoreTest, WriterIsSpentAfterCommit) {
  StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
  ASSERT_OK(writer.status());
  ASSERT_OK((*writer)->Append("x"));
  ASSERT_OK((*writer)->Commit(std::nullopt).status());
  EXPECT_EQ((*writer)->Append("y").code(), Code::kPreconditionFailed);
  EXPECT_EQ((*writer)->Commit(std::nullopt).status().code(), Code::kPreconditionFailed);
  EXPECT_EQ(ReadAll(crypto::Sha256Hex("x")), "x");
}

TEST_F(BlobStoreTest, HostileDigestsAreRefusedEverywhere) {
  ASSERT_OK(Put("victim").status());
  const std::string valid = crypto::Sha256Hex("victim");
  std::string upper = valid;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::string> hostile = {
      "",
      "../../etc/passwd",
      "../../../../../../../../../../../../../../../../../../../../../etc",
      valid.substr(0, 63),
      valid + "0",
      upper,
      valid.substr(0, 62) + "/.",
      valid.substr(0, 10) + std::string(1, '\0') + valid.substr(11),
      "tmp",
      std::string(64, 'g'),
  };
  for (const std::string& digest : hostile) {
    SCOPED_TRACE(digest);
    EXPECT_EQ(store_->Exists(digest).status().error(), "invalid_digest");
    EXPECT_EQ(store_->Size(digest).status().error(), "invalid_digest");
    EXPECT_EQ(store_->Open(digest).status().error(), "invalid_digest");
    EXPECT_EQ(store_->Remove(digest).error(), "invalid_digest");
    std::vector<std::string> list = {valid, digest};
    EXPECT_EQ(store_->Missing(list).status().error(), "invalid_digest");
    StatusOr<BlobInfo> committed = Put("victim", 4096, digest);
    EXPECT_EQ(committed.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(committed.status().error(), "invalid_digest");
  }
  EXPECT_EQ(ReadAll(valid), "victim");  // nothing was removed
  EXPECT_EQ(VisibleFiles().size(), 1u);
  EXPECT_EQ(TempFileCount(), 0u);
  EXPECT_TRUE(fs::exists(root() / "tmp"));
}

TEST_F(BlobStoreTest, ConcurrentWritersOfSameContentAllSucceed) {
  const std::string content = Pattern(1 << 20, 11);
  const std::string hex = crypto::Sha256Hex(content);
  constexpr int kWriters = 8;
  std::vector<StatusOr<BlobInfo>> results(kWriters, Status(Code::kInternal, "not run"));
  std::vector<std::thread> threads;
  threads.reserve(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] { results[i] = Put(content, 4096 + 1000 * i); });
  }
  for (std::thread& t : threads) t.join();
  for (const StatusOr<BlobInfo>& result : results) {
    ASSERT_OK(result.status());
    EXPECT_EQ(result->sha256, hex);
  }
  EXPECT_EQ(ReadAll(hex), content);
  EXPECT_EQ(VisibleFiles().size(), 1u);
  EXPECT_EQ(TempFileCount(), 0u);
}

TEST_F(BlobStoreTest, RangeReadsServeAnyOffset) {
  const std::string content = Pattern(1000, 5);
  StatusOr<BlobInfo> info = Put(content);
  ASSERT_OK(info.status());
  StatusOr<std::unique_ptr<BlobReader>> opened = store_->Open(info->sha256);
  ASSERT_OK(opened.status());
  BlobReader& reader = **opened;
  char buffer[200];

  StatusOr<size_t> n = reader.ReadAt(100, buffer, 50);
  ASSERT_OK(n.status());
  EXPECT_EQ(std::string(buffer, *n), content.substr(100, 50));
  n = reader.ReadAt(950, buffer, 200);  // runs past the end: the tail only
  ASSERT_OK(n.status());
  EXPECT_EQ(std::string(buffer, *n), content.substr(950));
  n = reader.ReadAt(1000, buffer, 10);
  ASSERT_OK(n.status());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(reader.ReadAt(1001, buffer, 10).status().code(), Code::kRangeNotSatisfiable);
  EXPECT_EQ(reader.ReadAt(-1, buffer, 10).status().code(), Code::kRangeNotSatisfiable);

  // ReadAt leaves the position alone; Seek moves it.
  n = reader.Read(buffer, 10);
  ASSERT_OK(n.status());
  EXPECT_EQ(std::string(buffer, *n), content.substr(0, 10));
  ASSERT_OK(reader.Seek(990));
  n = reader.Read(buffer, 100);
  ASSERT_OK(n.status());
  EXPECT_EQ(std::string(buffer, *n), content.substr(990));
  n = reader.Read(buffer, 100);
  ASSERT_OK(n.status());
  EXPECT_EQ(*n, 0u);
  ASSERT_OK(reader.Seek(0));
  n = reader.Read(buffer, 5);
  ASSERT_OK(n.status());
  EXPECT_EQ(std::string(buffer, *n), content.substr(0, 5));
  EXPECT_EQ(reader.Seek(1001).code(), Code::kRangeNotSatisfiable);
  EXPECT_EQ(reader.Seek(-5).code(), Code::kRangeNotSatisfiable);
}

TEST_F(BlobStoreTest, AbsentBlobIsNotFound) {
  const std::string hex = crypto::Sha256Hex("never stored");
  StatusOr<bool> exists = store_->Exists(hex);
  ASSERT_OK(exists.status());
  EXPECT_FALSE(*exists);
  EXPECT_EQ(store_->Size(hex).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Open(hex).status().code(), Code::kNotFound);
}

TEST_F(BlobStoreTest, RemoveIsIdempotentAndOpenReadersKeepReading) {
  const std::string content = "to be collected";
  StatusOr<BlobInfo> info = Put(content);
  ASSERT_OK(info.status());
  StatusOr<std::unique_ptr<BlobReader>> reader = store_->Open(info->sha256);
  ASSERT_OK(reader.status());

  ASSERT_OK(store_->Remove(info->sha256));
  StatusOr<bool> exists = store_->Exists(info->sha256);
  ASSERT_OK(exists.status());
  EXPECT_FALSE(*exists);
  EXPECT_OK(store_->Remove(info->sha256));

  char buffer[64];
  StatusOr<size_t> n = (*reader)->Read(buffer, sizeof buffer);
  ASSERT_OK(n.status());
  EXPECT_EQ(std::string(buffer, *n), content);
}

TEST_F(BlobStoreTest, MissingListsAbsentDigestsInOrder) {
  ASSERT_OK(Put("a").status());
  ASSERT_OK(Put("c").status());
  const std::vector<std::string> asked = {crypto::Sha256Hex("a"), crypto::Sha256Hex("b"),
                                          crypto::Sha256Hex("c"), crypto::Sha256Hex("d")};
  StatusOr<std::vector<std::string>> missing = store_->Missing(asked);
  ASSERT_OK(missing.status());
  EXPECT_EQ(*missing, (std::vector<std::string>{asked[1], asked[3]}));
}

TEST_F(BlobStoreTest, OpeningRemovesStaleTempFilesOnly) {
  const fs::path stale = root() / "tmp" / "upload-stale";
  const fs::path fresh = root() / "tmp" / "upload-fresh";
  { std::ofstream(stale) << "left by a crash"; }
  { std::ofstream(fresh) << "still uploading"; }
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  fs::last_write_time(fresh, fs::file_time_type::clock::now() - std::chrono::minutes(30));

  std::unique_ptr<BlobStore> reopened = OpenStore();
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

// A buffer aligned to kStreamingAlignment, as a streaming writer's caller supplies.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n)
      : data(static_cast<char*>(::operator new[](n, std::align_val_t{kStreamingAlignment}))),
        size(n) {}
  ~AlignedBuffer() { ::operator delete[](data, std::align_val_t{kStreamingAlignment}); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  std::string_view view(size_t n) const { return {data, n}; }
  char* data;
  size_t size;
};

// Streams `content` through a kStreaming writer in aligned pieces of `piece` bytes (the last one
// whatever is left) and commits it.
StatusOr<BlobInfo> PutStreaming(BlobStore& store, const std::string& content, size_t piece,
                                std::optional<std::string> expected = std::nullopt) {
  PORTICO_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer,
                           store.NewWriter(WriteHint::kStreaming));
  AlignedBuffer buffer(piece);
  for (size_t at = 0; at < content.size(); at += piece) {
    const size_t n = std::min(piece, content.size() - at);
    std::memcpy(buffer.data, content.data() + at, n);
    PORTICO_RETURN_IF_ERROR(writer->Append(buffer.view(n)));
  }
  return writer->Commit(std::move(expected));
}

// A streaming blob past the first reservation (64 MiB) with a tail that is not a whole block: the
// bytes read back are the bytes written, and the file holds no reserved space beyond them.
TEST_F(BlobStoreTest, StreamingBlobRoundTripsAndKeepsNoReservedSpace) {
  std::string content;
  for (int i = 0; i < 70; ++i) content += Pattern(1 << 20, 100 + i);
  content += Pattern(1234, 99);
  StatusOr<BlobInfo> info = PutStreaming(*store_, content, 1 << 20);
  ASSERT_OK(info.status());
  EXPECT_EQ(info->size, static_cast<int64_t>(content.size()));
  EXPECT_EQ(info->sha256, crypto::Sha256Hex(content));
  EXPECT_TRUE(ReadAll(info->sha256) == content);  // not EXPECT_EQ: no 70 MB diff on failure

  ASSERT_EQ(VisibleFiles().size(), 1u);
  struct stat st;
  ASSERT_EQ(::stat(VisibleFiles()[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(content.size()));
  EXPECT_LT(static_cast<int64_t>(st.st_blocks) * 512,
            static_cast<int64_t>(content.size()) + (1 << 20));
  EXPECT_EQ(TempFileCount(), 0u);
}

// Where the file system takes O_DIRECT, a streaming blob's aligned pieces never enter the page
// cache: reading the blob back finds none of them there (a buffered writer leaves them all).
TEST_F(BlobStoreTest, StreamingBlobBypassesThePageCache) {
  const fs::path probe = root() / "tmp" / "direct-probe";
  int probe_fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
  if (probe_fd < 0) GTEST_SKIP() << "this file system does not take O_DIRECT";
  ::close(probe_fd);
  fs::remove(probe);

  const std::string content = Pattern(8 << 20, 42);
  StatusOr<BlobInfo> info = PutStreaming(*store_, content, 1 << 20);
  ASSERT_OK(info.status());
  ASSERT_EQ(VisibleFiles().size(), 1u);
  int fd = ::open(VisibleFiles()[0].c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, content.size(), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(map, MAP_FAILED);
  const size_t pages = content.size() / 4096;
  std::vector<unsigned char> resident(pages);
  ASSERT_EQ(::mincore(map, content.size(), resident.data()), 0);
  ::munmap(map, content.size());
  const size_t cached = static_cast<size_t>(
      std::count_if(resident.begin(), resident.end(), [](unsigned char c) { return c & 1; }));
  EXPECT_LT(cached, pages / 10) << cached << " of " << pages << " pages are in the page cache";
  EXPECT_TRUE(ReadAll(info->sha256) == content);
}

// Ends exactly on a block boundary, all of it well inside one reservation: the file is cut back
// to its bytes.
TEST_F(BlobStoreTest, StreamingBlobEndingOnABlockBoundaryIsCutToItsSize) {
  const std::string content = Pattern(3 * 8192, 5);
  StatusOr<BlobInfo> info = PutStreaming(*store_, content, 8192);
  ASSERT_OK(info.status());
  EXPECT_EQ(info->size, 3 * 8192);
  EXPECT_EQ(ReadAll(info->sha256), content);
  struct stat st;
  ASSERT_EQ(::stat(VisibleFiles().at(0).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 3 * 8192);
}

// The hint promises aligned pieces; pieces that are not (an odd address, an odd length, or an
// aligned piece at an odd offset after them) are still stored byte for byte.
TEST_F(BlobStoreTest, StreamingWriterStoresMisalignedPiecesToo) {
  StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter(WriteHint::kStreaming);
  ASSERT_OK(writer.status());
  AlignedBuffer buffer(3 * 4096 + 1);
  std::string content;
  auto append = [&](size_t from, size_t n, uint64_t seed) {
    const std::string bytes = Pattern(n, seed);
    std::memcpy(buffer.data + from, bytes.data(), n);
    content += bytes;
    return (*writer)->Append(std::string_view(buffer.data + from, n));
  };
  ASSERT_OK(append(0, 4096, 1));      // aligned: written around the cache
  ASSERT_OK(append(1, 4096, 2));      // an odd address: through the cache
  ASSERT_OK(append(0, 4096, 3));      // aligned again, at offset 8192: around it
  ASSERT_OK(append(0, 100, 4));       // an odd length
  ASSERT_OK(append(0, 2 * 4096, 5));  // an aligned piece at an odd offset (12388)
  StatusOr<BlobInfo> info = (*writer)->Commit(crypto::Sha256Hex(content));
  ASSERT_OK(info.status());
  EXPECT_EQ(info->size, static_cast<int64_t>(content.size()));
  EXPECT_EQ(ReadAll(info->sha256), content);
}

TEST_F(BlobStoreTest, AbandonedOrMismatchedStreamingBlobLeavesNothing) {
  const std::string content = Pattern(5 << 20, 11);
  {
    StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter(WriteHint::kStreaming);
    ASSERT_OK(writer.status());
    AlignedBuffer buffer(1 << 20);
    std::memcpy(buffer.data, content.data(), buffer.size);
    ASSERT_OK((*writer)->Append(buffer.view(buffer.size)));
    EXPECT_EQ(TempFileCount(), 1u);
  }
  EXPECT_EQ(TempFileCount(), 0u);

  StatusOr<BlobInfo> info = PutStreaming(*store_, content, 1 << 20, std::string(64, 'a'));
  EXPECT_EQ(info.status().error(), "digest_mismatch");
  EXPECT_EQ(TempFileCount(), 0u);
  EXPECT_TRUE(VisibleFiles().empty());
}

// Deferred commits of streaming blobs are complete at once, and Sync makes them durable.
TEST_F(BlobStoreTest, StreamingBlobCommittedDeferredIsComplete) {
  const std::string content = Pattern((2 << 20) + 10, 12);
  StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter(WriteHint::kStreaming);
  ASSERT_OK(writer.status());
  AlignedBuffer buffer(1 << 20);
  for (size_t at = 0; at < content.size(); at += buffer.size) {
    const size_t n = std::min(buffer.size, content.size() - at);
    std::memcpy(buffer.data, content.data() + at, n);
    ASSERT_OK((*writer)->Append(buffer.view(n)));
  }
  StatusOr<BlobInfo> info = (*writer)->CommitDeferred(std::nullopt);
  ASSERT_OK(info.status());
  EXPECT_TRUE(ReadAll(info->sha256) == content);
  const std::vector<std::string> digests = {info->sha256};
  EXPECT_OK(store_->Sync(digests));
}

// A store of the former layout (<hex[0:2]>/<hex[2:4]>/<hex>) is moved when opened: every blob
// readable at once, the emptied folders gone, a foreign file left where it was, the layout
// recorded; opening it again changes nothing.
TEST_F(BlobStoreTest, OpeningMovesAStoreOfTheFormerLayout) {
  store_.reset();
  const fs::path old_root = dir_.path() / "old";
  std::vector<std::pair<std::string, std::string>> blobs;  // digest, content
  for (int i = 0; i < 40; ++i) {
    std::string content = Pattern(1000 + i, 200 + i);
    std::string hex = crypto::Sha256Hex(content);
    fs::create_directories(old_root / hex.substr(0, 2) / hex.substr(2, 2));
    std::ofstream(old_root / hex.substr(0, 2) / hex.substr(2, 2) / hex) << content;
    blobs.emplace_back(hex, content);
  }
  fs::create_directories(old_root / "tmp");
  const fs::path foreign =
      old_root / blobs[0].first.substr(0, 2) / blobs[0].first.substr(2, 2) / "notes.txt";
  std::ofstream(foreign) << "not a blob";

  StatusOr<std::unique_ptr<BlobStore>> opened = OpenFsBlobStore({.root = old_root});
  ASSERT_OK(opened.status());
  for (const auto& [hex, content] : blobs) {
    EXPECT_TRUE(fs::is_regular_file(old_root / hex.substr(0, 2) / hex)) << hex;
    StatusOr<std::unique_ptr<BlobReader>> reader = (*opened)->Open(hex);
    ASSERT_OK(reader.status());
    std::string read(content.size(), '\0');
    StatusOr<size_t> n = (*reader)->ReadAt(0, read.data(), read.size());
    ASSERT_OK(n.status());
    EXPECT_EQ(read, content);
    if (hex != blobs[0].first) {
      EXPECT_FALSE(fs::exists(old_root / hex.substr(0, 2) / hex.substr(2, 2))) << hex;
    }
  }
  EXPECT_TRUE(fs::is_regular_file(foreign));
  std::ifstream layout(old_root / "layout");
  std::string text((std::istreambuf_iterator<char>(layout)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "2\n");

  // New blobs land in the current layout; a second open finds nothing to move.
  StatusOr<std::unique_ptr<BlobWriter>> writer = (*opened)->NewWriter();
  ASSERT_OK(writer.status());
  ASSERT_OK((*writer)->Append("after the move"));
  StatusOr<BlobInfo> info = (*writer)->Commit(std::nullopt);
  ASSERT_OK(info.status());
  opened->reset();
  StatusOr<std::unique_ptr<BlobStore>> again = OpenFsBlobStore({.root = old_root});
  ASSERT_OK(again.status());
  StatusOr<bool> exists = (*again)->Exists(info->sha256);
  ASSERT_OK(exists.status());
  EXPECT_TRUE(*exists);
  exists = (*again)->Exists(blobs[7].first);
  ASSERT_OK(exists.status());
  EXPECT_TRUE(*exists);
}

TEST_F(BlobStoreTest, ANewStoreRecordsItsLayoutAndAnUnknownOrDamagedOneIsRefused) {
  EXPECT_TRUE(fs::is_regular_file(root() / "layout"));
  store_.reset();
  for (const char* text : {"3\n", "", "2", "2\n\n"}) {
    SCOPED_TRACE(text);
    std::ofstream(root() / "layout", std::ios::trunc) << text;
    StatusOr<std::unique_ptr<BlobStore>> opened = OpenFsBlobStore({.root = root()});
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kPreconditionFailed);
    EXPECT_EQ(opened.status().error(), "unknown_blob_layout");
  }
}

// Layout-1 blobs written at `root` (digest -> content).
std::vector<std::pair<std::string, std::string>> WriteLayoutOneStore(const fs::path& root, int n,
                                                                     uint64_t seed) {
  std::vector<std::pair<std::string, std::string>> blobs;
  for (int i = 0; i < n; ++i) {
    std::string content = Pattern(500 + i, seed + i);
    std::string hex = crypto::Sha256Hex(content);
    fs::create_directories(root / hex.substr(0, 2) / hex.substr(2, 2));
    std::ofstream(root / hex.substr(0, 2) / hex.substr(2, 2) / hex) << content;
    blobs.emplace_back(hex, content);
  }
  return blobs;
}

void ExpectAllReadable(BlobStore& store,
                       const std::vector<std::pair<std::string, std::string>>& blobs) {
  for (const auto& [hex, content] : blobs) {
    StatusOr<std::unique_ptr<BlobReader>> reader = store.Open(hex);
    ASSERT_OK(reader.status());
    std::string read(content.size(), '\0');
    StatusOr<size_t> n = (*reader)->ReadAt(0, read.data(), read.size());
    ASSERT_OK(n.status());
    EXPECT_EQ(read, content) << hex;
  }
}

// A move cut short (some blobs already at their new path, some not, no layout file yet) is
// finished by the next open.
TEST_F(BlobStoreTest, OpeningFinishesAMoveCutShort) {
  store_.reset();
  const fs::path old_root = dir_.path() / "half";
  auto blobs = WriteLayoutOneStore(old_root, 30, 500);
  for (size_t i = 0; i < blobs.size(); i += 2) {
    const std::string& hex = blobs[i].first;
    fs::rename(old_root / hex.substr(0, 2) / hex.substr(2, 2) / hex,
               old_root / hex.substr(0, 2) / hex);
  }
  StatusOr<std::unique_ptr<BlobStore>> opened = OpenFsBlobStore({.root = old_root});
  ASSERT_OK(opened.status());
  ExpectAllReadable(**opened, blobs);
  EXPECT_TRUE(fs::is_regular_file(old_root / "layout"));
}

// Replicas sharing a root, started together after an upgrade: every one opens it, and every
// blob is readable through each.
TEST_F(BlobStoreTest, SeveralOpenersMoveOneStoreTogether) {
  store_.reset();
  const fs::path old_root = dir_.path() / "shared";
  auto blobs = WriteLayoutOneStore(old_root, 300, 900);
  fs::create_directories(old_root / "tmp");
  constexpr int kOpeners = 4;
  std::vector<StatusOr<std::unique_ptr<BlobStore>>> opened;
  for (int i = 0; i < kOpeners; ++i) opened.emplace_back(Internal("not opened"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] { opened[i] = OpenFsBlobStore({.root = old_root}); });
  }
  for (auto& t : threads) t.join();
  for (auto& store : opened) {
    ASSERT_OK(store.status());
    ExpectAllReadable(**store, blobs);
  }
  std::ifstream layout(old_root / "layout");
  std::string text((std::istreambuf_iterator<char>(layout)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "2\n");
}

TEST_F(BlobStoreTest, OpenRefusesAnEmptyRoot) {
  EXPECT_EQ(OpenFsBlobStore({}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace portico::store

#include "store/fs_blob_store.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>

#include "core/crypto/random.h"
#include "core/crypto/sha256.h"

namespace portico::store {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kFolderMode = 0700;
constexpr mode_t kFileMode = 0600;
// From this many blobs, Sync flushes the whole file system (syncfs) instead of each file and
// folder: one journal commit instead of one per fsync.
constexpr size_t kSyncfsFrom = 8;
// Write-back of a blob being written starts every this many bytes (see FsBlobWriter::Append).
constexpr off_t kWritebackWindow = off_t{16} << 20;
// A streaming writer reserves the file's space this far ahead of its direct writes (see
// FsBlobWriter::Reserve).
constexpr off_t kReserveStep = off_t{64} << 20;

// Blob <hex> lives at <root>/<hex[0:2]>/<hex>: 256 folders, ~40 blobs each at 10,000 and ~40,000
// at 10 million (ext4's hashed directories and XFS's B-trees look names up in a folder of that size
// in a few block reads). Layout 1 (before) added a level, <hex[2:4]>: with 65,536 folders nearly
// every blob of a store of thousands had a folder of its own, each made and read separately
// (MigrateLayout moves such a store).
fs::path BlobFolder(const fs::path& root, std::string_view hex) {
  return root / std::string(hex.substr(0, 2));
}
fs::path BlobPath(const fs::path& root, std::string_view hex) {
  return BlobFolder(root, hex) / std::string(hex);
}
constexpr std::string_view kLayoutFile = "layout";
constexpr std::string_view kLayout = "2\n";

// A full disk or quota is the environment's, and may pass: Unavailable. Anything else is Internal.
// Messages name the operation, never a path (they may reach a client).
Status ErrnoStatus(std::string_view what, int err) {
  std::string message = "blob store: " + std::string(what) + ": " + ::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Unavailable(std::move(message));
  return Internal(std::move(message));
}

Status InvalidDigest() {
  return Status(Code::kInvalidArgument, "invalid_digest",
                "a blob digest must be 64 lowercase hex characters (SHA-256)");
}

// Makes `path` with mode 0700; true if it was made, false if it already existed.
StatusOr<bool> MakeFolder(const fs::path& path) {
  if (::mkdir(path.c_str(), kFolderMode) == 0) return true;
  if (errno == EEXIST) return false;
  return ErrnoStatus("cannot create a folder", errno);
}

// Flushes a folder's entries (a new name, a rename) to disk.
Status SyncFolder(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open a folder to sync it", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("cannot sync a folder", err);
  return Status::Ok();
}

// Makes `path` and its missing parents, each 0700.
Status MakeFolders(const fs::path& path) {
  fs::path partial;
  for (const fs::path& part : path) {
    partial /= part;
    if (partial == partial.root_path()) continue;
    PORTICO_RETURN_IF_ERROR(MakeFolder(partial).status());
  }
  return Status::Ok();
}

// One write at a time through Linux's native asynchronous I/O (io_setup, io_submit,
// io_getevents; no library needed): a direct write runs on the disk while its caller hashes the
// same bytes. Unavailable (a kernel or sandbox without it) means the caller writes synchronously.
class AsyncWrite {
 public:
  AsyncWrite() = default;
  ~AsyncWrite() {
    if (context_ != 0) ::syscall(SYS_io_destroy, context_);
  }
  AsyncWrite(const AsyncWrite&) = delete;
  AsyncWrite& operator=(const AsyncWrite&) = delete;

  // Starts writing `data` at `offset` of `fd`; false if it could not be started (nothing is in
  // flight then). `data` must stay untouched until Wait returns.
  bool Start(int fd, std::string_view data, off_t offset) {
    if (context_ == 0) {
      if (unavailable_ || ::syscall(SYS_io_setup, 1, &context_) != 0) {
        unavailable_ = true;
        context_ = 0;
        return false;
      }
    }
    control_ = iocb{};
    control_.aio_fildes = static_cast<uint32_t>(fd);
    control_.aio_lio_opcode = IOCB_CMD_PWRITE;
    control_.aio_buf = reinterpret_cast<uint64_t>(data.data());
    control_.aio_nbytes = data.size();
    control_.aio_offset = offset;
    iocb* list[1] = {&control_};
    return ::syscall(SYS_io_submit, context_, 1, list) == 1;
  }

  // Waits for the write Start began: the bytes written, or -errno.
  int64_t Wait() {
    io_event event{};
    for (;;) {
      long n = ::syscall(SYS_io_getevents, context_, 1, 1, &event, nullptr);
      if (n == 1) return event.res;
      // Returning with the write in flight would let the caller reuse its buffer under it.
      if (n < 0 && errno != EINTR) std::abort();
    }
  }

 private:
  aio_context_t context_ = 0;
  bool unavailable_ = false;
  iocb control_{};
};

class FsBlobWriter final : public BlobWriter {
 public:
  FsBlobWriter(fs::path root, fs::path temp_path, int fd, WriteHint hint)
      : root_(std::move(root)),
        temp_path_(std::move(temp_path)),
        fd_(fd),
        streaming_(hint == WriteHint::kStreaming) {}

  ~FsBlobWriter() override {
    if (fd_ >= 0) ::close(fd_);
    DropTemp();
  }

  Status Append(std::string_view data) override {
    if (state_ != State::kOpen) {
      return Status(Code::kPreconditionFailed, "blob store: the writer is no longer writable");
    }
    Status written = streaming_ && DirectShaped(data) ? AppendDirect(data) : AppendBuffered(data);
    if (!written.ok()) state_ = State::kBroken;
    return written;
  }

  int64_t size() const override { return size_; }

  StatusOr<BlobInfo> Commit(std::optional<std::string> expected_sha256_hex) override {
    return Finish(std::move(expected_sha256_hex), /*durable=*/true);
  }

  StatusOr<BlobInfo> CommitDeferred(std::optional<std::string> expected_sha256_hex) override {
    return Finish(std::move(expected_sha256_hex), /*durable=*/false);
  }

 private:
  enum class State { kOpen, kBroken, kSpent };

  // Whether `data` can be written around the page cache: aligned start, length and file offset.
  bool DirectShaped(std::string_view data) const {
    return !data.empty() && reinterpret_cast<uintptr_t>(data.data()) % kStreamingAlignment == 0 &&
           data.size() % kStreamingAlignment == 0 && size_ % kStreamingAlignment == 0;
  }

  // Writes through the page cache (the default, and a streaming blob's unaligned last piece).
  Status AppendBuffered(std::string_view data) {
    if (direct_) PORTICO_RETURN_IF_ERROR(SetDirect(false));
    PORTICO_RETURN_IF_ERROR(WriteAt(data, size_));
    sha256_.Update(data);
    size_ += static_cast<int64_t>(data.size());
    StartWriteback();
    return Status::Ok();
  }

  // A streaming piece: written with O_DIRECT (no copy into the page cache, nothing left for the
  // fsync but the disk's own cache), asynchronously, so the disk writes it while it is hashed
  // here. Where the file system has no direct I/O the blob is written buffered from then on;
  // without asynchronous I/O the write comes first, then the hash.
  Status AppendDirect(std::string_view data) {
    if (!direct_ && !SetDirect(true).ok()) {
      streaming_ = false;
      return AppendBuffered(data);
    }
    PORTICO_RETURN_IF_ERROR(Reserve(size_ + static_cast<off_t>(data.size())));
    int64_t written = 0;
    if (async_.Start(fd_, data, size_)) {
      sha256_.Update(data);
      written = async_.Wait();
    } else {
      written = WriteDirect(data, size_);
      sha256_.Update(data);
    }
    if (written == -EINVAL || written == -EOPNOTSUPP) {
      // The device wants a larger alignment than kStreamingAlignment, or the file system takes
      // O_DIRECT but not a direct write: this blob goes through the cache from here on (the
      // piece is hashed already; the branch below writes it).
      streaming_ = false;
      written = 0;
    }
    if (written < 0)
      return ErrnoStatus("cannot write a temporary file", static_cast<int>(-written));
    if (static_cast<size_t>(written) < data.size()) {
      // A short direct write (the disk filling up) or a refused one: the rest goes through the
      // cache, whose failure, if any, is the one to report.
      PORTICO_RETURN_IF_ERROR(SetDirect(false));
      PORTICO_RETURN_IF_ERROR(
          WriteAt(data.substr(static_cast<size_t>(written)), size_ + static_cast<off_t>(written)));
    }
    size_ += static_cast<int64_t>(data.size());
    if (static_cast<size_t>(written) == data.size()) {
      written_back_ = size_;  // nothing of it is in the page cache
    } else {
      StartWriteback();
    }
    return Status::Ok();
  }

  // A synchronous direct write: the bytes written, or -errno.
  int64_t WriteDirect(std::string_view data, off_t offset) {
    for (;;) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), offset);
      if (n >= 0) return n;
      if (errno != EINTR) return -errno;
    }
  }

  Status WriteAt(std::string_view data, off_t offset) {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("cannot write a temporary file", errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += n;
    }
    return Status::Ok();
  }

  Status SetDirect(bool on) {
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, on ? (flags | O_DIRECT) : (flags & ~O_DIRECT)) != 0) {
      return ErrnoStatus("cannot change how a temporary file is written", errno);
    }
    direct_ = on;
    return Status::Ok();
  }

  // Space for direct writes up to `end`, reserved kReserveStep at a time (fallocate, which also
  // moves the file's size there). A direct write that extends a file is one that ext4 completes
  // before io_submit returns, so without this the disk write could not overlap the hashing.
  // Commit cuts the file back to the bytes written. Where fallocate is not supported, or finds
  // no room for a whole step (the writes themselves may still fit), the writes just extend it.
  Status Reserve(off_t end) {
    if (end <= reserved_ || !can_reserve_) return Status::Ok();
    const off_t to = std::max(end, reserved_ + kReserveStep);
    must_trim_ = true;  // even a failed fallocate may have moved the size
    int rc;
    do {
      rc = ::fallocate(fd_, 0, reserved_, to - reserved_);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      if (errno != EOPNOTSUPP && errno != ENOSYS && errno != ENOSPC && errno != EDQUOT) {
        return ErrnoStatus("cannot reserve space for a blob", errno);
      }
      can_reserve_ = false;
      return Status::Ok();
    }
    reserved_ = to;
    return Status::Ok();
  }

  // Large blobs: write-back of each completed window of the file starts at once
  // (SYNC_FILE_RANGE_WRITE, asynchronous), so the fsync at Commit finds at most two windows left
  // to write instead of the whole blob; the window before it is then waited for and dropped from
  // the page cache. The dirty data and the cache of one upload stay around two windows: the cache
  // does not fill with a blob nobody is reading yet, and the pages dropped are the ones the next
  // windows are written into (on a VM whose freed memory the host takes back, writing into
  // memory the guest has not touched lately costs more than the copy itself). A writer faster
  // than the disk waits here, which it would do at the fsync anyway. These are hints: errors are
  // left to the fsync at Commit, which reports any write-back failure.
  void StartWriteback() {
    while (size_ - written_back_ >= kWritebackWindow) {
      ::sync_file_range(fd_, written_back_, kWritebackWindow, SYNC_FILE_RANGE_WRITE);
      if (written_back_ >= kWritebackWindow) {
        const off_t previous = written_back_ - kWritebackWindow;
        ::sync_file_range(
            fd_, previous, kWritebackWindow,
            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        ::posix_fadvise(fd_, previous, kWritebackWindow, POSIX_FADV_DONTNEED);
      }
      written_back_ += kWritebackWindow;
    }
  }

  // Commit: with `durable`, fsync of the file before the rename and of the folders after it;
  // without, neither (BlobStore::Sync does them later).
  StatusOr<BlobInfo> Finish(std::optional<std::string> expected_sha256_hex, bool durable) {
    if (state_ == State::kSpent) {
      return Status(Code::kPreconditionFailed, "blob store: the writer was already committed");
    }
    const bool broken = state_ == State::kBroken;
    state_ = State::kSpent;
    if (broken) {
      DropTemp();
      return Internal("blob store: an earlier write failed");
    }
    if (expected_sha256_hex && !IsValidSha256Hex(*expected_sha256_hex)) {
      DropTemp();
      return InvalidDigest();
    }
    int rc = must_trim_ ? ::ftruncate(fd_, size_) : 0;
    if (rc == 0 && durable) rc = ::fsync(fd_);
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (rc != 0) {
      DropTemp();
      return ErrnoStatus("cannot trim or sync a temporary file", err);
    }
    BlobInfo info{sha256_.FinalHex(), size_};
    if (expected_sha256_hex && *expected_sha256_hex != info.sha256) {
      DropTemp();
      return Status(
          Code::kInvalidArgument, "digest_mismatch",
          "the content's SHA-256 is " + info.sha256 + ", not the expected " + *expected_sha256_hex);
    }
    Status placed = Place(info.sha256, durable);
    DropTemp();  // a no-op once renamed
    if (!placed.ok()) return placed;
    return info;
  }

  // Moves the temporary file to its path, unless that blob is already there. `durable`: a folder
  // made and the rename are synced. Without it nothing is, and an existing copy is kept only if
  // its bytes hash to its name (one left damaged by a power cut, never synced and so never named
  // by a durable record, is replaced).
  Status Place(const std::string& hex, bool durable) {
    const fs::path folder = BlobFolder(root_, hex);
    const fs::path target = BlobPath(root_, hex);
    struct stat st;
    if (::stat(target.c_str(), &st) == 0) {
      if (durable) return Status::Ok();  // immutable: keep the first copy
      PORTICO_ASSIGN_OR_RETURN(bool intact, HashesTo(target, hex));
      if (intact) return Status::Ok();
    }
    // A concurrent writer of the same content may rename between the stat and here; rename
    // then replaces an identical file atomically, which no reader can tell apart. The folder
    // almost always exists: it is made only when the rename says it is missing (a mkdir call
    // per blob was measurable in the portal's CPU during a publish).
    if (::rename(temp_path_.c_str(), target.c_str()) != 0) {
      if (errno != ENOENT) return ErrnoStatus("cannot move a blob into place", errno);
      PORTICO_ASSIGN_OR_RETURN(bool made, MakeFolder(folder));
      if (made && durable) PORTICO_RETURN_IF_ERROR(SyncFolder(root_));
      if (::rename(temp_path_.c_str(), target.c_str()) != 0) {
        return ErrnoStatus("cannot move a blob into place", errno);
      }
    }
    temp_exists_ = false;
    return durable ? SyncFolder(folder) : Status::Ok();
  }

  // Whether the file at `path` is a regular file whose bytes hash to `hex`.
  static StatusOr<bool> HashesTo(const fs::path& path, const std::string& hex) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    crypto::Sha256 sha;
    std::string buffer(256 * 1024, '\0');
    while (true) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return false;
      }
      if (n == 0) break;
      sha.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    }
    ::close(fd);
    return sha.FinalHex() == hex;
  }

  void DropTemp() {
    if (temp_exists_) ::unlink(temp_path_.c_str());
    temp_exists_ = false;
  }

  const fs::path root_;
  const fs::path temp_path_;
  int fd_;
  bool temp_exists_ = true;
  State state_ = State::kOpen;
  crypto::Sha256 sha256_;
  int64_t size_ = 0;
  off_t written_back_ = 0;   // write-back was started for the bytes before this offset
  bool streaming_;           // WriteHint::kStreaming, until direct I/O proves unavailable
  bool direct_ = false;      // O_DIRECT is set on fd_
  bool can_reserve_ = true;  // fallocate works here
  off_t reserved_ = 0;       // the file's size reserved by Reserve
  bool must_trim_ = false;   // Reserve ran: the file may be longer than size_
  AsyncWrite async_;
};

class FsBlobReader final : public BlobReader {
 public:
  FsBlobReader(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~FsBlobReader() override { ::close(fd_); }

  int64_t size() const override { return size_; }

  StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    PORTICO_ASSIGN_OR_RETURN(size_t n, ReadAt(position_, buffer, capacity));
    position_ += static_cast<int64_t>(n);
    return n;
  }

  Status Seek(int64_t offset) override {
    PORTICO_RETURN_IF_ERROR(CheckOffset(offset));
    position_ = offset;
    return Status::Ok();
  }

  StatusOr<size_t> ReadAt(int64_t offset, char* buffer, size_t capacity) override {
    PORTICO_RETURN_IF_ERROR(CheckOffset(offset));
    // The file never changes, so reading stops at the size seen when it was opened.
    size_t want =
        static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(capacity), size_ - offset));
    size_t done = 0;
    while (done < want) {
      ssize_t n = ::pread(fd_, buffer + done, want - done, offset + static_cast<int64_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("cannot read a blob", errno);
      }
      if (n == 0) return Internal("blob store: a blob is shorter than its recorded size");
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  Status CheckOffset(int64_t offset) const {
    if (offset < 0 || offset > size_) {
      return Status(Code::kRangeNotSatisfiable, "range_not_satisfiable",
                    "offset " + std::to_string(offset) + " is outside the blob of " +
                        std::to_string(size_) + " bytes");
    }
    return Status::Ok();
  }

  const int fd_;
  const int64_t size_;
  int64_t position_ = 0;
};

bool IsHexPair(std::string_view name) {
  return name.size() == 2 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Writes <root>/layout: a temporary file of its own (several processes may open a store at
// once, and all write the same text), fsync, rename, fsync of the root.
Status WriteLayoutFile(const fs::path& root) {
  const fs::path temp = root / "tmp" / ("layout-" + crypto::RandomHex(8));
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) return ErrnoStatus("cannot write the layout file", errno);
  const ssize_t n = ::write(fd, kLayout.data(), kLayout.size());
  int err = n < 0 ? errno : EIO;  // a short write sets no errno
  const bool written = n == static_cast<ssize_t>(kLayout.size()) && ::fsync(fd) == 0;
  if (n == static_cast<ssize_t>(kLayout.size()) && !written) err = errno;
  ::close(fd);
  if (written && ::rename(temp.c_str(), (root / kLayoutFile).c_str()) == 0) {
    return SyncFolder(root);
  }
  if (written) err = errno;
  ::unlink(temp.c_str());
  return ErrnoStatus("cannot write the layout file", err);
}

// The names in `folder` (a snapshot, so the caller may rename and remove while it walks them).
// A folder that is gone (another process finished with it) has none.
StatusOr<std::vector<std::string>> NamesIn(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename());
  }
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return names;
  if (ec) return Internal("blob store: cannot read the store's folders: " + ec.message());
  return names;
}

// The folders in `folder` named by two hex digits (the levels of layout 1), a snapshot like
// NamesIn's.
StatusOr<std::vector<std::string>> HexPairFolders(const fs::path& folder) {
  PORTICO_ASSIGN_OR_RETURN(std::vector<std::string> names, NamesIn(folder));
  std::vector<std::string> folders;
  for (std::string& name : names) {
    if (!IsHexPair(name)) continue;
    struct stat st;
    if (::lstat((folder / name).c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // gone since it was listed
      return ErrnoStatus("cannot read a folder of the store", errno);
    }
    if (S_ISDIR(st.st_mode)) folders.push_back(std::move(name));
  }
  return folders;
}

// Brings a store to this layout, then records it in <root>/layout. A store without that file is
// new, of layout 1, or part-way through this move: each blob found at <hex[0:2]>/<hex[2:4]>/<hex>
// is renamed to <hex[0:2]>/<hex> and the emptied folder removed. One rename per blob, so a crash
// midway leaves each blob whole at one of its two paths; the file is written last, so the next
// open finishes the move. Several processes may do it at once (each tolerates what another has
// already moved or removed). Anything else found in those folders is left where it is. A layout
// file with any other content (a newer version's layout, or damage) is refused.
Status MigrateLayout(const fs::path& root) {
  const fs::path marker = root / kLayoutFile;
  int fd = ::open(marker.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    char text[16];
    const ssize_t n = ::read(fd, text, sizeof text);
    ::close(fd);
    if (n == static_cast<ssize_t>(kLayout.size()) && std::string_view(text, n) == kLayout) {
      return Status::Ok();
    }
    return Status(Code::kPreconditionFailed, "unknown_blob_layout",
                  "blob store: the store's layout file does not name layout 2, the one this "
                  "version knows (a store of a newer version, or a damaged file)");
  }
  if (errno != ENOENT) return ErrnoStatus("cannot read the layout file", errno);
  PORTICO_ASSIGN_OR_RETURN(std::vector<std::string> outers, HexPairFolders(root));
  for (const std::string& outer_name : outers) {
    const fs::path outer = root / outer_name;
    PORTICO_ASSIGN_OR_RETURN(std::vector<std::string> inners, HexPairFolders(outer));
    bool moved = false;
    for (const std::string& inner_name : inners) {
      const fs::path inner = outer / inner_name;
      PORTICO_ASSIGN_OR_RETURN(std::vector<std::string> names, NamesIn(inner));
      for (const std::string& name : names) {
        if (!IsValidSha256Hex(name) || name.compare(0, 2, outer_name) != 0 ||
            name.compare(2, 2, inner_name) != 0) {
          continue;
        }
        // Another process opening the same store may have moved it first.
        if (::rename((inner / name).c_str(), (outer / name).c_str()) != 0 && errno != ENOENT) {
          return ErrnoStatus("cannot move a blob to the current layout", errno);
        }
        moved = true;
      }
      ::rmdir(inner.c_str());  // fails, harmlessly, if something else is left in it
    }
    if (moved) PORTICO_RETURN_IF_ERROR(SyncFolder(outer));
  }
  return WriteLayoutFile(root);
}

class FsBlobStore final : public BlobStore {
 public:
  explicit FsBlobStore(fs::path root) : root_(std::move(root)), temp_folder_(root_ / "tmp") {}

  StatusOr<std::unique_ptr<BlobWriter>> NewWriter(WriteHint hint) override {
    fs::path temp_path = temp_folder_ / ("upload-" + crypto::RandomHex(16));
    int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    if (fd < 0) return ErrnoStatus("cannot create a temporary file", errno);
    return std::unique_ptr<BlobWriter>(new FsBlobWriter(root_, std::move(temp_path), fd, hint));
  }

  StatusOr<bool> Exists(std::string_view sha256) override {
    PORTICO_ASSIGN_OR_RETURN(std::optional<int64_t> size, StatSize(sha256));
    return size.has_value();
  }

  StatusOr<int64_t> Size(std::string_view sha256) override {
    PORTICO_ASSIGN_OR_RETURN(std::optional<int64_t> size, StatSize(sha256));
    if (!size) return NotFoundStatus();
    return *size;
  }

  StatusOr<std::unique_ptr<BlobReader>> Open(std::string_view sha256) override {
    if (!IsValidSha256Hex(sha256)) return InvalidDigest();
    int fd = ::open(PathFor(sha256).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) return NotFoundStatus();
      return ErrnoStatus("cannot open a blob", errno);
    }
    struct stat st;
    int err = ::fstat(fd, &st) != 0 ? errno : (S_ISREG(st.st_mode) ? 0 : EINVAL);
    if (err != 0) {
      ::close(fd);
      return ErrnoStatus("cannot read a blob's size", err);
    }
    return std::unique_ptr<BlobReader>(new FsBlobReader(fd, st.st_size));
  }

  Status Remove(std::string_view sha256) override {
    if (!IsValidSha256Hex(sha256)) return InvalidDigest();
    if (::unlink(PathFor(sha256).c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus("cannot remove a blob", errno);
    }
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> Missing(std::span<const std::string> digests) override {
    if (!std::all_of(digests.begin(), digests.end(), IsValidSha256Hex)) return InvalidDigest();
    std::vector<std::string> missing;
    for (const std::string& digest : digests) {
      PORTICO_ASSIGN_OR_RETURN(bool exists, Exists(digest));
      if (!exists) missing.push_back(digest);
    }
    return missing;
  }

  Status Sync(std::span<const std::string> digests) override {
    if (!std::all_of(digests.begin(), digests.end(), IsValidSha256Hex)) return InvalidDigest();
    if (digests.empty()) return Status::Ok();
    for (const std::string& digest : digests) {
      struct stat st;
      if (::stat(PathFor(digest).c_str(), &st) != 0) {
        if (errno == ENOENT) return NotFoundStatus();
        return ErrnoStatus("cannot read a blob's size", errno);
      }
    }
    if (digests.size() >= kSyncfsFrom) {
      // One writeback and one journal commit of the whole file system, for every blob at once
      // (file data, new folders, renames). Since Linux 5.8 it reports writeback errors.
      int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus("cannot open the store to sync it", errno);
      int rc = ::syncfs(fd);
      int err = errno;
      ::close(fd);
      if (rc != 0) return ErrnoStatus("cannot sync the store's file system", err);
      return Status::Ok();
    }
    // A few blobs: each file, then its folder (the rename) and the root (a new folder).
    std::vector<fs::path> folders;
    for (const std::string& digest : digests) {
      const fs::path path = PathFor(digest);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) return ErrnoStatus("cannot open a blob to sync it", errno);
      int rc = ::fsync(fd);
      int err = errno;
      ::close(fd);
      if (rc != 0) return ErrnoStatus("cannot sync a blob", err);
      folders.push_back(path.parent_path());
    }
    folders.push_back(root_);
    std::sort(folders.begin(), folders.end());
    folders.erase(std::unique(folders.begin(), folders.end()), folders.end());
    for (const fs::path& folder : folders) PORTICO_RETURN_IF_ERROR(SyncFolder(folder));
    return Status::Ok();
  }

  // Deletes temporary files older than `age`, left by crashed or killed writers.
  void RemoveStaleTemps(std::chrono::seconds age) {
    const auto cutoff = fs::file_time_type::clock::now() - age;
    std::error_code ec;
    for (fs::directory_iterator it(temp_folder_, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code entry_ec;
      if (!it->is_regular_file(entry_ec)) continue;
      auto modified = it->last_write_time(entry_ec);
      if (!entry_ec && modified < cutoff) fs::remove(it->path(), entry_ec);
    }
  }

  const fs::path& temp_folder() const { return temp_folder_; }

 private:
  // The path of a digest already checked by IsValidSha256Hex.
  fs::path PathFor(std::string_view hex) const { return BlobPath(root_, hex); }

  // The size of a stored blob, or nullopt if it is not stored.
  StatusOr<std::optional<int64_t>> StatSize(std::string_view sha256) const {
    if (!IsValidSha256Hex(sha256)) return InvalidDigest();
    struct stat st;
    if (::stat(PathFor(sha256).c_str(), &st) != 0) {
      if (errno == ENOENT) return std::optional<int64_t>();
      return ErrnoStatus("cannot read a blob's size", errno);
    }
    if (!S_ISREG(st.st_mode)) return ErrnoStatus("a blob is not a regular file", EINVAL);
    return std::optional<int64_t>(st.st_size);
  }

  static Status NotFoundStatus() { return NotFound("no blob with that digest is stored"); }

  const fs::path root_;
  const fs::path temp_folder_;
};

}  // namespace

StatusOr<std::unique_ptr<BlobStore>> OpenFsBlobStore(const FsBlobStoreOptions& options) {
  if (options.root.empty()) return InvalidArgument("the blob store needs a root folder");
  if (options.stale_temp_age.count() < 0) {
    return InvalidArgument("the blob store's stale temporary file age cannot be negative");
  }
  std::error_code ec;
  const fs::path root = fs::absolute(options.root, ec).lexically_normal();
  if (ec) return Internal("blob store: cannot resolve the root folder: " + ec.message());
  auto store = std::make_unique<FsBlobStore>(root);
  PORTICO_RETURN_IF_ERROR(MakeFolders(store->temp_folder()));
  PORTICO_RETURN_IF_ERROR(MigrateLayout(root));
  store->RemoveStaleTemps(options.stale_temp_age);
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace portico::store

// An exclusive claim on a service's data folder, so two processes never serve one folder (their
// in-memory state, such as the identity service's replay guard, assumes a single owner).
// The claim is an flock(2) on `<folder>/<name>.lock`: the kernel drops it when the process
// ends, however it ends, so a kill -9 never leaves a stale lock behind.
#pragma once

#include <filesystem>
#include <string>

#include "core/status.h"

namespace portico {

class FolderLock {
 public:
  // Claims `folder` for `service` (the lock file is `<folder>/<service>.lock`, mode 0600).
  // Unavailable, naming the folder, when another process holds it.
  static StatusOr<FolderLock> Acquire(const std::filesystem::path& folder,
                                      const std::string& service);
  FolderLock() = default;
  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&& other) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();  // releases the claim

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace portico

// `portico serve portal` as a child process for the portal's integration tests, beside the
// identity service the shared harness starts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "harness.h"

namespace portico::it {

class PortalProcess {
 public:
  // `portico serve portal --data DATA --port 0 --ims IMS --log-file DATA/portal.log`; waits for
  // its JSON line. Standard error goes to DATA.stderr. Throws when it does not start.
  static std::unique_ptr<PortalProcess> Start(const fs::path& data, const std::string& ims_url);
  ~PortalProcess();  // kills the child if it still runs

  const std::string& url() const { return url_; }
  const fs::path& data() const { return data_; }
  bool Running();
  // SIGTERM, then waits; the exit status, -1 for a signal, -2 if it had to be killed.
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(30));
  std::string Stderr() const;

 private:
  PortalProcess() = default;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = 0;
  fs::path data_;
  fs::path stderr_file_;
  std::string url_;
};

}  // namespace portico::it

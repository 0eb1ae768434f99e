// The identity service assembled: its database and master key under a data folder, its key
// ring, rules and HTTP server. `portico serve ims` and `portico up` both start it through here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "ims/service/admin_service.h"
#include "ims/service/console_service.h"
#include "ims/service/token_service.h"

namespace portico::ims {

struct ImsOptions {
  std::filesystem::path data_dir;  // holds ims.db and master.key (created mode 0700/0600)
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string public_url;        // default: http://HOST:PORT of the bound socket
  const Clock* clock = nullptr;  // default: the system clock
  // The token endpoints run on the I/O threads; two keep one slow request from holding up all.
  int io_threads = 0;  // 0: one per core the process may run on (UsableCores)
  int handler_threads = 8;
  bool access_log = true;
  int64_t service_token_seconds = 24 * 3600;
};

class ImsService {
 public:
  // Opens (or creates) the data folder, applies migrations, loads or makes the signing key, and
  // starts serving. Fails with a message naming what is wrong (folder, port, database).
  static StatusOr<std::unique_ptr<ImsService>> Start(const ImsOptions& options);
  ~ImsService();

  const std::string& url() const;
  uint16_t port() const;
  AdminService& admin();
  ConsoleService& console();
  TokenService& tokens();
  void Stop();

 private:
  ImsService();
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace portico::ims

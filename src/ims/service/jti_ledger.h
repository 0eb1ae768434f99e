// The replay guard of the JWT exchange (IMS-PROTOCOL.md: a `jti` is refused again within the
// assertion's lifetime), without a database write on the request path.
//
// The ledger keeps every unexpired (client id, jti) in memory and is the authority for this
// process: Record checks and inserts under one lock, so a replay is refused at once, however
// close it comes. The ids reach the database by group commit on the ledger's own thread (the
// ids of each 5 ms go in one transaction; closing the ledger writes the rest), and the ledger
// loads the unexpired ones when it starts, so a replay is refused after a restart too. The
// window: an id accepted in the last few milliseconds before the process is killed (kill -9,
// power loss) can be replayed after the restart. On SQLite the identity service is the only writer
// of its database (ImsService holds a lock on its data folder); PostgreSQL replicas will need the
// check in the database itself (docs/decisions.md, "Replayed jti").
//
// In memory an id is a 128-bit digest of (client id, jti) with its expiry in a flat hash map
// (about 30 bytes per id); in the database the ids are appended to a log (ImsStore::WriteJtis),
// so a group commit writes one or two pages whatever the ids.
//
// Memory is bounded: past `max_entries` unexpired ids the ledger stops trusting memory, moves the
// log into the table keyed by id and checks and writes each id there on the request path, until
// pruning brings the count under half of the bound, when it reloads. Thread-safe.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "core/status.h"
#include "ims/store/ims_store.h"

namespace portico::ims {

class JtiLedger {
 public:
  // Loads the ids that have not expired by `now` and starts the flushing thread.
  static StatusOr<std::unique_ptr<JtiLedger>> Open(ImsStore& store, int64_t now,
                                                   size_t max_entries = 500'000);
  ~JtiLedger();  // flushes what is pending, then stops the thread
  JtiLedger(const JtiLedger&) = delete;
  JtiLedger& operator=(const JtiLedger&) = delete;

  // Records that `jti` of `client_id` is used until `expires_at` (seconds). kConflict if it was
  // recorded before and has not expired by `now` (a replay).
  Status Record(const std::string& client_id, const std::string& jti, int64_t expires_at,
                int64_t now);

  // Writes every pending id now (the thread does this on its own; tests and shutdown call it).
  Status Flush();

  // Forgets ids that expired before `now`, in memory and in the database.
  Status Prune(int64_t now);

  // For tests and metrics.
  size_t size() const;
  bool in_memory() const;

 private:
  using Id = std::array<uint64_t, 2>;  // the first 128 bits of SHA-256 of the pair
  struct IdHash {
    size_t operator()(const Id& id) const { return id[0]; }  // already uniformly distributed
  };

  JtiLedger(ImsStore& store, size_t max_entries);
  static Id MakeId(const std::string& client_id, const std::string& jti);
  void LoadLocked(const std::vector<JtiRecord>& records);
  void Run();
  Status FlushLocked(std::unique_lock<std::mutex>& lock);

  ImsStore& store_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::condition_variable wake_;     // the thread: something is pending, or stop
  std::condition_variable flushed_;  // Flush(): a flush ended
  boost::unordered_flat_map<Id, int64_t, IdHash> used_;  // id -> expires_at
  std::vector<JtiRecord> pending_;                       // recorded, not yet in the database
  bool flushing_ = false;
  bool in_memory_ = true;  // false: the database is the authority (over the bound)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace portico::ims

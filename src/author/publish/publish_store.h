// The publishing engine's own tables in the author's database (migration component
// "author_publish"): publish requests and their items, each item a frozen copy of the object it
// publishes (the snapshot) and the id of its job in the JobQueue, which holds the item's
// delivery state. The only place with the engine's SQL. Thread-safe; every method blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "author/publish/publish_source.h"
#include "core/status.h"
#include "store/sql.h"

namespace portico::author::publish {

enum class PublishAction { kPublish, kUnpublish };
std::string_view PublishActionName(PublishAction action);

struct RequestRecord {
  int64_t id = 0;
  PublishAction action = PublishAction::kPublish;
  std::vector<std::string> paths;
  // "scheduled" (waiting for run_at), "started" (items made), "failed" (could not start).
  std::string state;
  int64_t run_at_ms = 0;
  int64_t seq = 0;  // the seq every operation of this request carries (0 until started)
  std::optional<std::string> error;
  int64_t created_ms = 0;
  std::optional<int64_t> started_ms;
  int64_t blobs_sent = 0;
  int64_t bytes_sent = 0;
};

// What an item does to one path.
enum class ItemKind { kFolder, kAsset, kDelete };
std::string_view ItemKindName(ItemKind kind);

struct ItemRecord {
  int64_t id = 0;
  int64_t request_id = 0;
  std::string agent;
  ItemKind kind = ItemKind::kAsset;
  PublishObject object;  // the snapshot (only the path for deletes)
  int64_t seq = 0;       // the request's seq, sent with the operation
  std::optional<int64_t> job_id;
  std::optional<std::string> error;  // set when the item could not be queued at all
};

// Makes the jobs of `items` inside the transaction `session` that stores them; returns one job
// id per item, in order (0 for an item that gets none).
using QueueItemsFn = std::function<StatusOr<std::vector<int64_t>>(
    store::SqlSession& session, const std::vector<ItemRecord>& items)>;

// What a batch sent for one request.
struct SentCount {
  int64_t blobs = 0;
  int64_t bytes = 0;
};

class PublishStore {
 public:
  // Applies the "author_publish" migrations to `db` (which must outlive the store).
  static StatusOr<std::unique_ptr<PublishStore>> Open(store::SqlDatabase& db);

  // Records a new request, scheduled at `run_at_ms`; returns its id.
  StatusOr<int64_t> CreateRequest(PublishAction action, const std::vector<std::string>& paths,
                                  int64_t run_at_ms, int64_t now_ms);

  // Starts scheduled request `id` in one transaction: gives it a seq above every earlier
  // request's and at least `min_seq`, stores `items` (their `seq` and ids are filled in, with
  // multi-row inserts), marks it started and, when `queue` is given, makes their jobs with it and
  // records them (job_id filled in), all in that same transaction. PreconditionFailed
  // ("already_started") if it is not scheduled any more, so two starters never both expand it.
  StatusOr<std::vector<ItemRecord>> StartRequest(int64_t id, int64_t min_seq,
                                                 std::vector<ItemRecord> items, int64_t now_ms,
                                                 const QueueItemsFn& queue = nullptr);
  // Marks scheduled request `id` failed with `error` (it could not start).
  Status FailRequest(int64_t id, const std::string& error, int64_t now_ms);

  // Records the job of item `item_id`.
  Status SetItemJob(int64_t item_id, int64_t job_id);
  // Makes the jobs of `items` with `queue` and records them, in one transaction.
  Status QueueItems(const std::vector<ItemRecord>& items, const QueueItemsFn& queue);
  // Items of started requests that have no job yet (a crash came between StartRequest and
  // queueing), at most `limit`.
  StatusOr<std::vector<ItemRecord>> ItemsWithoutJob(int limit);

  StatusOr<RequestRecord> GetRequest(int64_t id);
  // The newest requests first, at most `limit`.
  StatusOr<std::vector<RequestRecord>> ListRequests(int limit);
  // Scheduled requests whose run_at has come, oldest first.
  StatusOr<std::vector<RequestRecord>> DueRequests(int64_t now_ms, int limit);
  // The earliest run_at of a scheduled request, if any.
  StatusOr<std::optional<int64_t>> NextRunAt();

  StatusOr<std::vector<ItemRecord>> ListItems(int64_t request_id);
  StatusOr<ItemRecord> GetItem(int64_t item_id);
  // The items with these ids that exist, by id (one query for a batch).
  StatusOr<std::map<int64_t, ItemRecord>> GetItems(const std::vector<int64_t>& item_ids);

  // Adds to the request's counters of blobs and bytes sent (one atomic UPDATE ... + ?).
  Status AddSent(int64_t request_id, int64_t blobs, int64_t bytes);

  // One transaction: `jobs` (e.g. completing a batch's jobs in the queue, same database), then
  // each request's counters of blobs and bytes sent increased by `sent`.
  Status SettleBatch(const std::function<Status(store::SqlSession&)>& jobs,
                     const std::map<int64_t, SentCount>& sent);

  // Per-state counts of a request's items without reading the items: "failed" (items that could
  // not be queued) and the queue's job states (queued, running, retrying, done, parked) of the
  // others, an item without a job yet counted as "queued"; "total" is every item.
  StatusOr<std::map<std::string, int64_t>> CountItems(int64_t request_id);

 private:
  explicit PublishStore(store::SqlDatabase& db) : db_(db) {}
  store::SqlDatabase& db_;
};

}  // namespace portico::author::publish

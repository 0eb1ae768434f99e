#include "author/publish/publish_store.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace portico::author::publish {
namespace {

using store::SqlRow;
using store::SqlSession;

const std::array<store::Migration, 1> kMigrations = {store::Migration{1, "publish_requests_items",
                                                                      R"sql(
CREATE TABLE publish_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, paths TEXT NOT NULL,
  state TEXT NOT NULL, run_at_ms INTEGER NOT NULL, seq INTEGER NOT NULL, error TEXT,
  created_ms INTEGER NOT NULL, started_ms INTEGER, blobs_sent INTEGER NOT NULL,
  bytes_sent INTEGER NOT NULL) STRICT;
CREATE INDEX publish_requests_due ON publish_requests (state, run_at_ms);
CREATE TABLE publish_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id INTEGER NOT NULL, agent TEXT NOT NULL,
  kind TEXT NOT NULL, path TEXT NOT NULL, title TEXT NOT NULL, modified_at INTEGER NOT NULL,
  object_seq INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  content_type TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL, job_id INTEGER,
  error TEXT) STRICT;
CREATE INDEX publish_items_request ON publish_items (request_id, id);
CREATE INDEX publish_items_nojob ON publish_items (job_id);
)sql",
                                                                      R"sql(
CREATE TABLE publish_requests (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, action TEXT NOT NULL, paths TEXT NOT NULL,
  state TEXT NOT NULL, run_at_ms BIGINT NOT NULL, seq BIGINT NOT NULL, error TEXT,
  created_ms BIGINT NOT NULL, started_ms BIGINT, blobs_sent BIGINT NOT NULL,
  bytes_sent BIGINT NOT NULL);
CREATE INDEX publish_requests_due ON publish_requests (state, run_at_ms);
CREATE TABLE publish_items (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, request_id BIGINT NOT NULL,
  agent TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, title TEXT NOT NULL,
  modified_at BIGINT NOT NULL, object_seq BIGINT NOT NULL, sha256 TEXT NOT NULL,
  size BIGINT NOT NULL, content_type TEXT NOT NULL, version BIGINT NOT NULL, seq BIGINT NOT NULL,
  job_id BIGINT, error TEXT);
CREATE INDEX publish_items_request ON publish_items (request_id, id);
CREATE INDEX publish_items_nojob ON publish_items (job_id);
)sql"}};

constexpr const char* kRequestColumns =
    "id, action, paths, state, run_at_ms, seq, error, created_ms, started_ms, blobs_sent, "
    "bytes_sent";
constexpr const char* kItemColumns =
    "id, request_id, agent, kind, path, title, modified_at, object_seq, sha256, size, "
    "content_type, version, seq, job_id, error";

RequestRecord RequestFrom(const SqlRow& r) {
  RequestRecord q;
  q.id = r.Int("id");
  q.action = r.Text("action") == "unpublish" ? PublishAction::kUnpublish : PublishAction::kPublish;
  auto paths = nlohmann::json::parse(r.Text("paths"), nullptr, false);
  if (paths.is_array()) {
    for (const auto& p : paths) {
      if (p.is_string()) q.paths.push_back(p.get<std::string>());
    }
  }
  q.state = r.Text("state");
  q.run_at_ms = r.Int("run_at_ms");
  q.seq = r.Int("seq");
  q.error = r.OptionalText("error");
  q.created_ms = r.Int("created_ms");
  q.started_ms = r.OptionalInt("started_ms");
  q.blobs_sent = r.Int("blobs_sent");
  q.bytes_sent = r.Int("bytes_sent");
  return q;
}

ItemKind KindFrom(const std::string& s) {
  if (s == "folder") return ItemKind::kFolder;
  if (s == "delete") return ItemKind::kDelete;
  return ItemKind::kAsset;
}

ItemRecord ItemFrom(const SqlRow& r) {
  ItemRecord i;
  i.id = r.Int("id");
  i.request_id = r.Int("request_id");
  i.agent = r.Text("agent");
  i.kind = KindFrom(r.Text("kind"));
  i.object.is_folder = i.kind == ItemKind::kFolder;
  i.object.path = r.Text("path");
  i.object.title = r.Text("title");
  i.object.modified_at = r.Int("modified_at");
  i.object.seq = r.Int("object_seq");
  i.object.sha256 = r.Text("sha256");
  i.object.size = r.Int("size");
  i.object.content_type = r.Text("content_type");
  i.object.version = r.Int("version");
  i.seq = r.Int("seq");
  i.job_id = r.OptionalInt("job_id");
  i.error = r.OptionalText("error");
  return i;
}

}  // namespace

std::string_view PublishActionName(PublishAction action) {
  return action == PublishAction::kUnpublish ? "unpublish" : "publish";
}

std::string_view ItemKindName(ItemKind kind) {
  switch (kind) {
    case ItemKind::kFolder:
      return "folder";
    case ItemKind::kDelete:
      return "delete";
    case ItemKind::kAsset:
      break;
  }
  return "asset";
}

StatusOr<std::unique_ptr<PublishStore>> PublishStore::Open(store::SqlDatabase& db) {
  PORTICO_RETURN_IF_ERROR(db.Migrate("author_publish", kMigrations));
  return std::unique_ptr<PublishStore>(new PublishStore(db));
}

StatusOr<int64_t> PublishStore::CreateRequest(PublishAction action,
                                              const std::vector<std::string>& paths,
                                              int64_t run_at_ms, int64_t now_ms) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r,
      db_.Execute("INSERT INTO publish_requests (action, paths, state, run_at_ms, seq, "
                  "created_ms, blobs_sent, bytes_sent) VALUES ($1, $2, 'scheduled', $3, "
                  "0, $4, 0, 0) RETURNING id",
                  {PublishActionName(action), nlohmann::json(paths).dump(), run_at_ms, now_ms}));
  return r[0].Int(0);
}

namespace {

// Records each item's job id, given in order (0: none): one UPDATE ... FROM (VALUES ...) per
// chunk of up to 128 items instead of one statement per item. Chunks of a power of two rows, so
// the statement takes few forms (the statement cache keeps them).
Status SetJobs(SqlSession& s, std::vector<ItemRecord>& items, const std::vector<int64_t>& jobs) {
  if (jobs.size() != items.size()) return Internal("publish: one job id per item expected");
  std::vector<size_t> with_job;
  with_job.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (jobs[i] != 0) with_job.push_back(i);
  }
  constexpr size_t kRowsPerUpdate = 128;
  for (size_t start = 0, end = 0; start < with_job.size(); start = end) {
    size_t n = 1;
    while (n * 2 <= std::min(with_job.size() - start, kRowsPerUpdate)) n *= 2;
    end = start + n;
    // The casts type the parameters for PostgreSQL (a VALUES list gives them no type).
    std::string sql = "UPDATE publish_items SET job_id = v.column2 FROM (VALUES ";
    store::SqlParams params;
    params.reserve(2 * n);
    for (size_t k = start; k < end; ++k) {
      const size_t b = params.size();
      sql += k == start ? "(" : ", (";
      sql += "CAST($" + std::to_string(b + 1) + " AS BIGINT), CAST($" + std::to_string(b + 2) +
             " AS BIGINT))";
      params.push_back(items[with_job[k]].id);
      params.push_back(jobs[with_job[k]]);
    }
    sql += ") AS v WHERE publish_items.id = v.column1";
    PORTICO_ASSIGN_OR_RETURN(auto r, s.Execute(sql, params));
    if (r.rows_affected != static_cast<int64_t>(n)) {
      return Internal("publish: an item's job id was not recorded");
    }
    for (size_t k = start; k < end; ++k) items[with_job[k]].job_id = jobs[with_job[k]];
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<ItemRecord>> PublishStore::StartRequest(int64_t id, int64_t min_seq,
                                                             std::vector<ItemRecord> items,
                                                             int64_t now_ms,
                                                             const QueueItemsFn& queue) {
  Status st = db_.Transaction([&](SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(auto last, s.Execute("SELECT MAX(seq) FROM publish_requests"));
    int64_t seq = std::max(last[0].OptionalInt(0).value_or(0) + 1, min_seq);
    PORTICO_ASSIGN_OR_RETURN(auto up,
                             s.Execute("UPDATE publish_requests SET state = 'started', seq = $2, "
                                       "started_ms = $3 WHERE id = $1 AND state = 'scheduled'",
                                       {id, seq, now_ms}));
    if (up.rows_affected != 1) {
      return Status(Code::kPreconditionFailed, "already_started",
                    "publish request " + std::to_string(id) + " is not scheduled");
    }
    // Multi-row inserts: 11 parameters a row (the request and its seq are shared). Chunks of 128
    // rows, then powers of two, so the statement takes few forms (the statement cache keeps them).
    constexpr size_t kRowsPerInsert = 128;
    for (size_t start = 0, end = 0; start < items.size(); start = end) {
      size_t n = 1;
      while (n * 2 <= std::min(items.size() - start, kRowsPerInsert)) n *= 2;
      end = start + n;
      std::string sql =
          "INSERT INTO publish_items (request_id, agent, kind, path, title, modified_at, "
          "object_seq, sha256, size, content_type, version, seq, error) VALUES ";
      store::SqlParams params = {id, seq};
      params.reserve(2 + (end - start) * 11);
      for (size_t i = start; i < end; ++i) {
        ItemRecord& item = items[i];
        item.request_id = id;
        item.seq = seq;
        const PublishObject& o = item.object;
        const size_t b = params.size();
        sql += i == start ? "($1" : ", ($1";
        // agent .. version, then the request's seq ($2), then error.
        for (size_t k = 1; k <= 10; ++k) sql += ", $" + std::to_string(b + k);
        sql += ", $2, $" + std::to_string(b + 11) + ")";
        params.insert(params.end(),
                      {item.agent, ItemKindName(item.kind), o.path, o.title, o.modified_at, o.seq,
                       o.sha256, o.size, o.content_type, o.version});
        params.push_back(item.error);
      }
      sql += " RETURNING id, path";
      PORTICO_ASSIGN_OR_RETURN(auto r, s.Execute(sql, params));
      if (r.size() != end - start) return Internal("publish: an item was not stored");
      // Paths are unique within a request: they say which row got which id.
      std::unordered_map<std::string_view, int64_t> by_path;
      for (const auto& row : r) by_path.emplace(row.Text("path"), row.Int("id"));
      for (size_t i = start; i < end; ++i) {
        auto it = by_path.find(items[i].object.path);
        if (it == by_path.end()) return Internal("publish: an item's id was not returned");
        items[i].id = it->second;
      }
    }
    if (!queue) return Status::Ok();
    PORTICO_ASSIGN_OR_RETURN(auto jobs, queue(s, items));
    return SetJobs(s, items, jobs);
  });
  if (!st.ok()) return st;
  return items;
}

Status PublishStore::QueueItems(const std::vector<ItemRecord>& items, const QueueItemsFn& queue) {
  if (items.empty()) return Status::Ok();
  std::vector<ItemRecord> copy = items;
  return db_.Transaction([&](SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(auto jobs, queue(s, copy));
    return SetJobs(s, copy, jobs);
  });
}

Status PublishStore::FailRequest(int64_t id, const std::string& error, int64_t now_ms) {
  return db_
      .Execute(
          "UPDATE publish_requests SET state = 'failed', error = $2, started_ms = $3 "
          "WHERE id = $1 AND state = 'scheduled'",
          {id, error, now_ms})
      .status();
}

Status PublishStore::SetItemJob(int64_t item_id, int64_t job_id) {
  return db_.Execute("UPDATE publish_items SET job_id = $2 WHERE id = $1", {item_id, job_id})
      .status();
}

StatusOr<std::vector<ItemRecord>> PublishStore::ItemsWithoutJob(int limit) {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute(std::string("SELECT ") + kItemColumns +
                              " FROM publish_items WHERE job_id IS NULL AND error IS NULL "
                              "ORDER BY id LIMIT $1",
                          {limit}));
  std::vector<ItemRecord> out;
  for (const auto& row : r) out.push_back(ItemFrom(row));
  return out;
}

StatusOr<RequestRecord> PublishStore::GetRequest(int64_t id) {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute(std::string("SELECT ") + kRequestColumns +
                                                   " FROM publish_requests WHERE id = $1",
                                               {id}));
  if (r.empty()) {
    return Status(Code::kNotFound, "unknown_request",
                  "there is no publish request " + std::to_string(id));
  }
  return RequestFrom(r[0]);
}

StatusOr<std::vector<RequestRecord>> PublishStore::ListRequests(int limit) {
  PORTICO_ASSIGN_OR_RETURN(auto r,
                           db_.Execute(std::string("SELECT ") + kRequestColumns +
                                           " FROM publish_requests ORDER BY id DESC LIMIT $1",
                                       {limit}));
  std::vector<RequestRecord> out;
  for (const auto& row : r) out.push_back(RequestFrom(row));
  return out;
}

StatusOr<std::vector<RequestRecord>> PublishStore::DueRequests(int64_t now_ms, int limit) {
  PORTICO_ASSIGN_OR_RETURN(auto r,
                           db_.Execute(std::string("SELECT ") + kRequestColumns +
                                           " FROM publish_requests WHERE state = 'scheduled' AND "
                                           "run_at_ms <= $1 ORDER BY run_at_ms, id LIMIT $2",
                                       {now_ms, limit}));
  std::vector<RequestRecord> out;
  for (const auto& row : r) out.push_back(RequestFrom(row));
  return out;
}

StatusOr<std::optional<int64_t>> PublishStore::NextRunAt() {
  PORTICO_ASSIGN_OR_RETURN(
      auto r, db_.Execute("SELECT MIN(run_at_ms) FROM publish_requests WHERE state = 'scheduled'"));
  return r[0].OptionalInt(0);
}

StatusOr<std::vector<ItemRecord>> PublishStore::ListItems(int64_t request_id) {
  PORTICO_ASSIGN_OR_RETURN(auto r,
                           db_.Execute(std::string("SELECT ") + kItemColumns +
                                           " FROM publish_items WHERE request_id = $1 ORDER BY id",
                                       {request_id}));
  std::vector<ItemRecord> out;
  for (const auto& row : r) out.push_back(ItemFrom(row));
  return out;
}

StatusOr<ItemRecord> PublishStore::GetItem(int64_t item_id) {
  PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute(std::string("SELECT ") + kItemColumns +
                                                   " FROM publish_items WHERE id = $1",
                                               {item_id}));
  if (r.empty()) {
    return Status(Code::kNotFound, "unknown_item",
                  "there is no publish item " + std::to_string(item_id));
  }
  return ItemFrom(r[0]);
}

StatusOr<std::map<std::string, int64_t>> PublishStore::CountItems(int64_t request_id) {
  std::map<std::string, int64_t> out;
  int64_t total = 0;
  Status st = db_.ReadTransaction([&](SqlSession& s) -> Status {
    PORTICO_ASSIGN_OR_RETURN(
        auto r, s.Execute("SELECT CASE WHEN i.error IS NOT NULL THEN 'failed' "
                          "ELSE COALESCE(j.state, 'queued') END AS st, COUNT(*) AS n "
                          "FROM publish_items i LEFT JOIN queue_jobs j ON j.id = i.job_id "
                          "WHERE i.request_id = $1 GROUP BY st",
                          {request_id}));
    for (const auto& row : r) {
      out[row.Text("st")] += row.Int("n");
      total += row.Int("n");
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  out["total"] = total;
  return out;
}

Status PublishStore::SettleBatch(const std::function<Status(store::SqlSession&)>& jobs,
                                 const std::map<int64_t, SentCount>& sent) {
  return db_.Transaction([&](SqlSession& s) -> Status {
    PORTICO_RETURN_IF_ERROR(jobs(s));
    for (const auto& [request, c] : sent) {
      if (c.blobs == 0 && c.bytes == 0) continue;
      PORTICO_RETURN_IF_ERROR(s.Execute("UPDATE publish_requests SET blobs_sent = blobs_sent + "
                                        "$2, bytes_sent = bytes_sent + $3 WHERE id = $1",
                                        {request, c.blobs, c.bytes})
                                  .status());
    }
    return Status::Ok();
  });
}

StatusOr<std::map<int64_t, ItemRecord>> PublishStore::GetItems(
    const std::vector<int64_t>& item_ids) {
  std::map<int64_t, ItemRecord> out;
  constexpr size_t kIdsPerSelect = 512;
  for (size_t start = 0; start < item_ids.size(); start += kIdsPerSelect) {
    const size_t end = std::min(item_ids.size(), start + kIdsPerSelect);
    // Padded to a power of two with the last id, so the statement takes few forms.
    size_t slots = 1;
    while (slots < end - start) slots *= 2;
    store::SqlParams params;
    std::string sql = std::string("SELECT ") + kItemColumns + " FROM publish_items WHERE id IN (";
    for (size_t k = 0; k < slots; ++k) {
      params.push_back(item_ids[std::min(start + k, end - 1)]);
      sql += (k == 0 ? "$" : ", $") + std::to_string(params.size());
    }
    sql += ")";
    PORTICO_ASSIGN_OR_RETURN(auto r, db_.Execute(sql, params));
    for (const auto& row : r) {
      ItemRecord item = ItemFrom(row);
      const int64_t id = item.id;
      out.emplace(id, std::move(item));
    }
  }
  return out;
}

Status PublishStore::AddSent(int64_t request_id, int64_t blobs, int64_t bytes) {
  return db_
      .Execute(
          "UPDATE publish_requests SET blobs_sent = blobs_sent + $2, "
          "bytes_sent = bytes_sent + $3 WHERE id = $1",
          {request_id, blobs, bytes})
      .status();
}

}  // namespace portico::author::publish

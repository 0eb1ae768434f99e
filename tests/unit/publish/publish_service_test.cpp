// The publishing engine's rules on a temporary SQLite file and blob folder, a fake clock and an
// in-memory portal (publish_fakes.h), driving the scheduler and workers step by step.
#include "author/publish/publish_service.h"

#include <stdlib.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "author/publish/batch_delivery.h"
#include "author/publish/publish_api.h"
#include "publish_fakes.h"
#include "store/fs_blob_store.h"
#include "store/sqlite_database.h"

namespace portico::author::publish {
namespace {

using testing::CountingExchanger;
using testing::FakeAuthor;
using testing::FakeChannel;
using testing::FakePortal;

class PublishServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/publish_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = store::OpenSqlite({.path = dir_ / "author.db"});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto blobs = store::OpenFsBlobStore({.root = dir_ / "blobs"});
    ASSERT_TRUE(blobs.ok());
    blobs_ = std::move(*blobs);
    tokens_ = std::make_unique<TokenProvider>(exchanger_, TokenProviderOptions{.clock = &clock_});
    author_.SetAgents({"agent-1", "agent-2"});
    Open();
  }
  void TearDown() override {
    service_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // (Re)opens the engine on the same database, as a restarted author would.
  void Open(int upload_lanes = 4, int batch_items = 100) {
    service_.reset();
    PublishOptions o;
    o.upload_lanes = upload_lanes;
    o.batch_items = batch_items;
    o.clock = &clock_;
    o.max_attempts = 3;
    o.queue.jitter = 0;
    o.queue.backoff_base = std::chrono::seconds(10);
    o.lease = std::chrono::seconds(60);
    o.worker_prefix = "test-" + std::to_string(++opens_);
    auto svc = PublishService::Create(
        *db_, author_, author_, *tokens_, *blobs_,
        [this](const PublishTarget&) { return std::make_unique<FakeChannel>(portal_); }, o);
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    service_ = std::move(*svc);
  }

  // Stores `bytes` as a blob and adds an asset of them at `path`.
  std::string Asset(const std::string& path, const std::string& bytes) {
    auto w = blobs_->NewWriter();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(bytes).ok());
    auto info = (*w)->Commit(std::nullopt);
    EXPECT_TRUE(info.ok());
    author_.AddAsset(path, info->sha256, info->size);
    return info->sha256;
  }

  // One agent, and `n` assets of distinct bytes under /content/dam/lanes.
  void LaneFolder(int n) {
    author_.SetAgents({"agent-1"});
    author_.AddFolder("/content/dam/lanes");
    for (int i = 0; i < n; ++i) {
      Asset("/content/dam/lanes/a" + std::to_string(i) + ".txt", "lane bytes " + std::to_string(i));
    }
  }

  // Publishes /content/dam/lanes with the fake portal's upload gate at `gate` and delivers it.
  int64_t PublishLanes(int gate) {
    portal_.upload_gate = gate;
    auto req = service_->Publish({"/content/dam/lanes"}, PublishAction::kPublish, std::nullopt);
    EXPECT_TRUE(req.ok()) << req.status().ToString();
    Drain();
    return req.ok() ? req->id : 0;
  }

  // Runs every agent until nothing is due.
  void Drain() {
    for (int round = 0; round < 100; ++round) {
      int claimed = 0;
      for (const char* a : {"agent-1", "agent-2"}) {
        auto n = service_->RunAgentOnce(a);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        claimed += *n;
      }
      if (claimed == 0) return;
    }
  }

  RequestStatus StatusOf(int64_t id) {
    auto s = service_->GetStatus(id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    // The totals-only form (for polling) counts in the database what the full one counts items.
    auto totals = service_->GetStatus(id, /*with_items=*/false);
    EXPECT_TRUE(totals.ok()) << totals.status().ToString();
    if (s.ok() && totals.ok()) {
      EXPECT_EQ(totals->totals, s->totals);
      EXPECT_EQ(totals->done, s->done);
      EXPECT_TRUE(totals->items.empty());
      EXPECT_EQ(totals->request.blobs_sent, s->request.blobs_sent);
    }
    return s.ok() ? *s : RequestStatus{};
  }

  std::map<std::string, std::string> States(int64_t id) {
    std::map<std::string, std::string> out;
    for (const auto& i : StatusOf(id).items) out[i.path] = i.state;
    return out;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  FakeAuthor author_;
  FakePortal portal_;
  CountingExchanger exchanger_;
  std::unique_ptr<store::SqlDatabase> db_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<TokenProvider> tokens_;
  std::unique_ptr<PublishService> service_;
  int opens_ = 0;
};

TEST_F(PublishServiceTest, FolderPublishDeliversEveryItemOverTheAgents) {
  author_.AddFolder("/content/dam/brand");
  author_.AddFolder("/content/dam/brand/logos");
  std::string a = Asset("/content/dam/brand/a.txt", "alpha");
  std::string b = Asset("/content/dam/brand/logos/b.txt", "beta");
  Asset("/content/dam/brand/logos/c.txt", "alpha");  // same bytes as a: one blob
  Asset("/content/dam/other.txt", "not in the folder");

  auto r = service_->Publish({"/content/dam/brand/"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, "started");
  RequestStatus queued = StatusOf(r->id);
  ASSERT_EQ(queued.items.size(), 5u);
  std::map<std::string, int> per_agent;
  for (const auto& i : queued.items) {
    EXPECT_EQ(i.state, "queued");
    ++per_agent[i.agent];
  }
  EXPECT_EQ(per_agent["agent-1"] + per_agent["agent-2"], 5);
  EXPECT_GE(per_agent["agent-1"], 2);
  EXPECT_GE(per_agent["agent-2"], 2);

  Drain();
  RequestStatus done = StatusOf(r->id);
  EXPECT_TRUE(done.done);
  EXPECT_EQ(done.totals["delivered"], 5);
  EXPECT_EQ(done.request.blobs_sent, 2);
  EXPECT_EQ(done.request.bytes_sent, 5 + 4);
  EXPECT_EQ(portal_.entries["/content/dam/brand/a.txt"].sha256, a);
  EXPECT_EQ(portal_.entries["/content/dam/brand/logos/b.txt"].sha256, b);
  EXPECT_TRUE(portal_.entries["/content/dam/brand/logos"].folder);
  EXPECT_FALSE(portal_.entries.count("/content/dam/other.txt"));
}

// One agent uploads the missing blobs of a batch over its lanes at once; a refused blob among
// them fails its item alone.
TEST_F(PublishServiceTest, AnAgentUploadsABatchsBlobsOverItsLanesAtOnce) {
  LaneFolder(12);
  // Its bytes are not in the author's blob store: that upload is refused, the others go on.
  author_.AddAsset("/content/dam/lanes/lost.txt", std::string(64, 'e'), 10);
  const int64_t id = PublishLanes(/*gate=*/4);
  EXPECT_EQ(portal_.max_in_flight, 4);
  EXPECT_EQ(portal_.uploads, 12);
  auto s = StatusOf(id);
  EXPECT_EQ(s.request.blobs_sent, 12);
  for (const auto& item : s.items) {
    if (item.path == "/content/dam/lanes/lost.txt") {
      EXPECT_EQ(item.state, "retrying");
      ASSERT_TRUE(item.last_error.has_value());
      EXPECT_NE(item.last_error->find("cannot be read"), std::string::npos) << *item.last_error;
    } else {
      EXPECT_EQ(item.state, "delivered") << item.path;
    }
  }
}

TEST_F(PublishServiceTest, OneLaneUploadsOneBlobAtATime) {
  Open(/*upload_lanes=*/1);
  LaneFolder(3);
  PublishLanes(/*gate=*/1);
  EXPECT_EQ(portal_.max_in_flight, 1);
  EXPECT_EQ(portal_.uploads, 3);
}

TEST_F(PublishServiceTest, AnAgentsSecondWorkerDeliversWhileTheFirstWaitsForItsCommit) {
  Open(/*upload_lanes=*/4, /*batch_items=*/2);
  LaneFolder(4);  // five items: the folder and four assets, three batches
  portal_.hold_first_commit = true;
  auto req = service_->Publish({"/content/dam/lanes"}, PublishAction::kPublish, std::nullopt);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  std::thread first([&] {
    auto n = service_->RunAgentOnce("agent-1", 0);
    EXPECT_TRUE(n.ok() && *n == 2);
  });
  {
    std::unique_lock lock(portal_.mu);
    ASSERT_TRUE(portal_.gate_cv.wait_for(lock, std::chrono::seconds(5),
                                         [&] { return portal_.first_commit_held; }));
  }
  // Worker 1 claims the next batch and delivers it while worker 0's commit is pending.
  auto n = service_->RunAgentOnce("agent-1", 1);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  {
    std::lock_guard lock(portal_.mu);
    EXPECT_EQ(portal_.commit_calls, 1);  // worker 1's; worker 0's is still held
    portal_.release_first_commit = true;
  }
  portal_.gate_cv.notify_all();
  first.join();
  Drain();
  auto s = StatusOf(req->id);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.totals["delivered"], 5);
  EXPECT_EQ(portal_.uploads, 4);
  // Workers are numbered 0..agent_workers-1 (2 by default).
  EXPECT_EQ(service_->RunAgentOnce("agent-1", 2).status().code(), Code::kInvalidArgument);
}

TEST_F(PublishServiceTest, UnknownPathIsRefusedAndNothingIsQueued) {
  Asset("/content/dam/a.txt", "a");
  auto r =
      service_->Publish({"/content/dam/a.txt", "/content/dam/nope.txt"}, PublishAction::kPublish);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("/content/dam/nope.txt"), std::string::npos);
  auto list = service_->List(10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto bad = service_->Publish({"/content/dam/../etc"}, PublishAction::kPublish);
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST_F(PublishServiceTest, NoCloudServiceIsRefused) {
  author_.SetAgents({});
  Asset("/content/dam/a.txt", "a");
  auto r = service_->Publish({"/content/dam/a.txt"}, PublishAction::kPublish);
  EXPECT_EQ(r.status().error(), "no_cloud_service");
}

TEST_F(PublishServiceTest, ImmediateFolderPublishIsASnapshotOfItsStart) {
  author_.AddFolder("/content/dam/f");
  Asset("/content/dam/f/one.txt", "one");
  auto r = service_->Publish({"/content/dam/f"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok());
  Asset("/content/dam/f/two.txt", "two");  // after the start: not in this publish
  Asset("/content/dam/f/one.txt", "one, edited");
  Drain();
  EXPECT_TRUE(StatusOf(r->id).done);
  EXPECT_FALSE(portal_.entries.count("/content/dam/f/two.txt"));
  EXPECT_EQ(portal_.entries["/content/dam/f/one.txt"].sha256, crypto::Sha256Hex("one"));
}

TEST_F(PublishServiceTest, ScheduledPublishExpandsWhenItStarts) {
  author_.AddFolder("/content/dam/f");
  Asset("/content/dam/f/one.txt", "one");
  const int64_t at = clock_.NowMillis() + 60'000;
  auto r = service_->Publish({"/content/dam/f"}, PublishAction::kPublish, at);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, "scheduled");
  ASSERT_TRUE(service_->RunSchedulerOnce().ok());
  EXPECT_TRUE(StatusOf(r->id).items.empty());
  EXPECT_FALSE(StatusOf(r->id).done);
  Asset("/content/dam/f/two.txt", "two");  // exists when it starts: included
  clock_.Advance(std::chrono::seconds(61));
  auto started = service_->RunSchedulerOnce();
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(*started, 1);
  Drain();
  EXPECT_EQ(States(r->id).size(), 3u);
  EXPECT_TRUE(StatusOf(r->id).done);
  EXPECT_TRUE(portal_.entries.count("/content/dam/f/two.txt"));
}

TEST_F(PublishServiceTest, RepublishingUnchangedAssetsSendsNoBlob) {
  author_.AddFolder("/content/dam/f");
  Asset("/content/dam/f/one.txt", "one");
  Asset("/content/dam/f/two.txt", "two");
  auto first = service_->Publish({"/content/dam/f"}, PublishAction::kPublish);
  ASSERT_TRUE(first.ok());
  Drain();
  EXPECT_EQ(StatusOf(first->id).request.blobs_sent, 2);
  int uploads = portal_.uploads;
  auto again = service_->Publish({"/content/dam/f"}, PublishAction::kPublish);
  ASSERT_TRUE(again.ok());
  Drain();
  RequestStatus s = StatusOf(again->id);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.totals["delivered"], 3);
  EXPECT_EQ(s.request.blobs_sent, 0);
  EXPECT_EQ(s.request.bytes_sent, 0);
  EXPECT_EQ(portal_.uploads, uploads);
}

TEST_F(PublishServiceTest, UnpublishThenRepublishConverges) {
  Asset("/content/dam/a.txt", "a");
  auto p = service_->Publish({"/content/dam/a.txt"}, PublishAction::kPublish);
  ASSERT_TRUE(p.ok());
  Drain();
  ASSERT_TRUE(portal_.entries.count("/content/dam/a.txt"));
  auto u = service_->Publish({"/content/dam/a.txt"}, PublishAction::kUnpublish);
  ASSERT_TRUE(u.ok());
  EXPECT_GT(u->seq, p->seq);
  Drain();
  EXPECT_EQ(States(u->id)["/content/dam/a.txt"], "delivered");
  EXPECT_FALSE(portal_.entries.count("/content/dam/a.txt"));
  // Unchanged on the author, yet published again: the new request's seq is above the delete.
  auto again = service_->Publish({"/content/dam/a.txt"}, PublishAction::kPublish);
  ASSERT_TRUE(again.ok());
  Drain();
  EXPECT_TRUE(portal_.entries.count("/content/dam/a.txt"));
}

TEST_F(PublishServiceTest, TransportFailuresRetryWithBackoffThenParkAndRetryByCommand) {
  Asset("/content/dam/a.txt", "a");
  portal_.check_fault = Unavailable("the portal at http://portal.test is unreachable");
  auto r = service_->Publish({"/content/dam/a.txt"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok());
  Drain();
  ItemStatus item = StatusOf(r->id).items.at(0);
  EXPECT_EQ(item.state, "retrying");
  EXPECT_EQ(item.attempts, 1);
  ASSERT_TRUE(item.last_error.has_value());
  EXPECT_NE(item.last_error->find("unreachable"), std::string::npos);
  ASSERT_TRUE(item.next_attempt_ms.has_value());
  EXPECT_EQ(*item.next_attempt_ms, clock_.NowMillis() + 10'000);

  Drain();  // not due yet: nothing happens
  EXPECT_EQ(StatusOf(r->id).items.at(0).attempts, 1);
  clock_.Advance(std::chrono::seconds(10));
  Drain();
  item = StatusOf(r->id).items.at(0);
  EXPECT_EQ(item.attempts, 2);
  EXPECT_EQ(*item.next_attempt_ms, clock_.NowMillis() + 20'000);  // doubled
  clock_.Advance(std::chrono::seconds(20));
  Drain();
  item = StatusOf(r->id).items.at(0);
  EXPECT_EQ(item.state, "parked");  // max_attempts = 3
  EXPECT_TRUE(StatusOf(r->id).done);

  portal_.check_fault = Status::Ok();
  auto retried = service_->RetryRequest(r->id);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(*retried, 1);
  EXPECT_EQ(StatusOf(r->id).items.at(0).state, "queued");
  Drain();
  EXPECT_EQ(StatusOf(r->id).items.at(0).state, "delivered");
  EXPECT_TRUE(portal_.entries.count("/content/dam/a.txt"));
}

TEST_F(PublishServiceTest, ARefusedItemDoesNotBlockTheOthers) {
  author_.SetAgents({"agent-1"});
  author_.AddFolder("/content/dam/f");
  for (int i = 0; i < 6; ++i) {
    Asset("/content/dam/f/" + std::to_string(i) + ".txt", "bytes " + std::to_string(i));
  }
  portal_.refuse_path = "/content/dam/f/3.txt";
  auto r = service_->Publish({"/content/dam/f"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(service_->RunAgentOnce("agent-1").ok());
  auto states = States(r->id);
  EXPECT_EQ(states["/content/dam/f/3.txt"], "retrying");
  int delivered = 0;
  for (const auto& [path, state] : states) delivered += state == "delivered";
  EXPECT_EQ(delivered, 6);
  for (const auto& i : StatusOf(r->id).items) {
    if (i.path == portal_.refuse_path) {
      ASSERT_TRUE(i.last_error.has_value());
      EXPECT_NE(i.last_error->find("refused"), std::string::npos);
    }
  }
}

TEST_F(PublishServiceTest, A401RenewsTheTokenOnce) {
  Asset("/content/dam/a.txt", "a");
  ASSERT_TRUE(tokens_->Get().ok());
  EXPECT_EQ(exchanger_.count(), 1);
  portal_.bad_tokens.insert("token-1");  // the held token is refused from now on
  auto r = service_->Publish({"/content/dam/a.txt"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok());
  Drain();
  EXPECT_EQ(States(r->id)["/content/dam/a.txt"], "delivered");
  EXPECT_EQ(exchanger_.count(), 2);
}

TEST_F(PublishServiceTest, ARetriedCommitIsAppliedOnce) {
  Asset("/content/dam/a.txt", "a");
  portal_.lose_commit_response = true;  // applied, but the answer is lost (crash after commit)
  auto r = service_->Publish({"/content/dam/a.txt"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok());
  Drain();
  EXPECT_EQ(States(r->id)["/content/dam/a.txt"], "retrying");
  portal_.lose_commit_response = false;
  clock_.Advance(std::chrono::seconds(10));
  Drain();
  EXPECT_EQ(States(r->id)["/content/dam/a.txt"], "delivered");
  EXPECT_EQ(portal_.applies["/content/dam/a.txt"], 1);
  EXPECT_EQ(portal_.commits.size(), 1u);  // the same key: a replay
}

TEST_F(PublishServiceTest, AWorkerKilledBetweenUploadAndCommitIsTakenOverExactlyOnce) {
  author_.SetAgents({"agent-1"});
  author_.AddFolder("/content/dam/f");
  std::vector<std::string> digests;
  for (int i = 0; i < 4; ++i) {
    digests.push_back(Asset("/content/dam/f/" + std::to_string(i), "payload " + std::to_string(i)));
  }
  auto r = service_->Publish({"/content/dam/f"}, PublishAction::kPublish);
  ASSERT_TRUE(r.ok());
  // A worker claims the batch and uploads every blob, then dies (kill -9) before committing.
  store::ClaimOptions co{.worker_id = "dead-worker", .queue = "agent-1", .limit = 100};
  auto claimed = service_->queue().Claim(co);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 5u);
  for (const auto& d : digests) portal_.blobs.insert(d);
  int uploads = portal_.uploads;

  // A new process: nothing is claimable until the dead worker's lease expires.
  Open();
  EXPECT_EQ(*service_->RunAgentOnce("agent-1"), 0);
  EXPECT_EQ(States(r->id)["/content/dam/f/0"], "sending");
  clock_.Advance(std::chrono::seconds(61));
  Drain();
  RequestStatus s = StatusOf(r->id);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.totals["delivered"], 5);
  EXPECT_EQ(portal_.uploads, uploads);  // check said nothing was missing
  for (int i = 0; i < 4; ++i) {
    const std::string p = "/content/dam/f/" + std::to_string(i);
    EXPECT_EQ(portal_.entries[p].sha256, digests[i]);
    EXPECT_EQ(portal_.applies[p], 1);
  }
}

TEST_F(PublishServiceTest, ItemsLeftUnqueuedByACrashAreQueuedByTheScheduler) {
  Asset("/content/dam/a.txt", "a");
  auto id = [&] {
    auto store = PublishStore::Open(*db_);
    EXPECT_TRUE(store.ok());
    auto req = (*store)->CreateRequest(PublishAction::kPublish, {"/content/dam/a.txt"},
                                       clock_.NowMillis(), clock_.NowMillis());
    ItemRecord item;
    item.agent = "agent-2";
    item.object = *author_.Lookup("/content/dam/a.txt");
    auto started = (*store)->StartRequest(*req, 1, {item}, clock_.NowMillis());
    EXPECT_TRUE(started.ok());
    return *req;
  }();
  EXPECT_EQ(States(id)["/content/dam/a.txt"], "queued");
  ASSERT_TRUE(service_->RunSchedulerOnce().ok());
  Drain();
  EXPECT_EQ(States(id)["/content/dam/a.txt"], "delivered");
}

TEST_F(PublishServiceTest, CommitKeyIsStableForTheSameBatchOnly) {
  ItemRecord a, b;
  a.object.path = "/content/dam/a";
  a.seq = 3;
  b.object.path = "/content/dam/b";
  b.seq = 3;
  BatchEntry ea{.job = store::Job{.id = 1}, .item = a}, eb{.job = store::Job{.id = 2}, .item = b};
  std::string k1 = BatchDelivery::CommitKey("author", {&ea, &eb});
  EXPECT_EQ(k1, BatchDelivery::CommitKey("author", {&eb, &ea}));
  EXPECT_NE(k1, BatchDelivery::CommitKey("author", {&ea}));
  EXPECT_NE(k1, BatchDelivery::CommitKey("other", {&ea, &eb}));
  EXPECT_LE(k1.size(), 128u);
}

TEST(PublishTimeTest, ParsesRfc3339AndUnixSeconds) {
  EXPECT_EQ(ParsePublishTime(nlohmann::json(1'800'000'000)), 1'800'000'000'000);
  EXPECT_EQ(ParsePublishTime(nlohmann::json("2027-01-15T08:00:00Z")), 1'800'000'000'000);
  EXPECT_EQ(ParsePublishTime(nlohmann::json("1970-01-01T01:00:00+01:00")), 0);
  EXPECT_EQ(ParsePublishTime(nlohmann::json("1970-01-01T00:00:01.5Z")), 1500);
  EXPECT_FALSE(ParsePublishTime(nlohmann::json("tomorrow")).has_value());
  EXPECT_FALSE(ParsePublishTime(nlohmann::json("2027-13-01T00:00:00Z")).has_value());
  EXPECT_FALSE(ParsePublishTime(nlohmann::json(-5)).has_value());
}

}  // namespace
}  // namespace portico::author::publish

// The ingest rules: tenants and isolation, binding, blobs, and commits (seq order, tombstones,
// idempotency, missing blobs, dry runs).
#include <gtest/gtest.h>

#include "portal_fixture.h"

namespace portico::portal {
namespace {

using Ingest = PortalFixture;

TEST_F(Ingest, OneTenantPerOrgAndNamesAreUnique) {
  auto second = tenants_->Create(AdminOf("orgA"), "another", "");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kConflict);
  EXPECT_EQ(second.status().error(), "org_has_tenant");
  auto taken = tenants_->Create(AdminOf("orgC"), "alpha-alias", "");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().error(), "tenant_exists");
  for (std::string bad :
       std::vector<std::string>{"A", "-x", "a", "a_b", "../x", std::string(64, 'a'), "ab/cd"}) {
    auto r = tenants_->Create(AdminOf("orgD"), bad, "");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().error(), "invalid_tenant") << bad;
  }
  auto no_scope = tenants_->Create(AuthorOf("orgE"), "epsilon", "");
  ASSERT_FALSE(no_scope.ok());
  EXPECT_EQ(no_scope.status().error(), "insufficient_scope");
}

TEST_F(Ingest, AnotherOrgsTokenSeesNoTenant) {
  protocol::HandshakeRequest hs;
  hs.author_id = "author-1";
  hs.bind = true;
  auto r = ingest_->Handshake(AuthorOf("orgB"), "alpha", hs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().error(), "unknown_tenant");
  // The same answer as for a tenant that does not exist, even without the scope.
  auto unknown = ingest_->Handshake(AuthorOf("orgA"), "nosuch", hs);
  EXPECT_EQ(unknown.status().error(), "unknown_tenant");
  auto admin = tenants_->GetForAdmin(AdminOf("orgB"), "alpha");
  EXPECT_EQ(admin.status().code(), Code::kNotFound);
  auto reader = ingest_->Handshake(ReaderOf("orgB"), "alpha", hs);
  EXPECT_EQ(reader.status().code(), Code::kNotFound);
}

TEST_F(Ingest, ScopeAliasAndVersionsAreChecked) {
  protocol::HandshakeRequest hs;
  hs.author_id = "author-1";
  hs.bind = true;
  auto no_scope = ingest_->Handshake(ReaderOf("orgA"), "alpha", hs);
  ASSERT_FALSE(no_scope.ok());
  EXPECT_EQ(no_scope.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(no_scope.status().error(), "insufficient_scope");

  auto alias = ingest_->Handshake(AuthorOf("orgA"), "alpha-alias", hs);
  ASSERT_FALSE(alias.ok());
  EXPECT_EQ(alias.status().error(), "alias_url");
  EXPECT_NE(alias.status().message().find("http://portal.test/t/alpha"), std::string::npos)
      << alias.status().message();

  hs.protocol_version = 0;
  auto old = ingest_->Handshake(AuthorOf("orgA"), "alpha", hs);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().error(), "unsupported_version");
  EXPECT_EQ(old.status().message(),
            protocol::AuthorTooOldMessage(0, protocol::kMinAuthorProtocolVersion));
  // Nothing was bound by the refused handshakes.
  auto t = tenants_->GetForAdmin(AdminOf("orgA"), "alpha");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->bound_author_id, "");
}

TEST_F(Ingest, FirstAuthorBindsAndASecondIsRefused) {
  // Before any binding nobody publishes.
  auto unbound = ingest_->Check(AuthorOf("orgA"), "alpha", "author-1", {});
  ASSERT_FALSE(unbound.ok());
  EXPECT_EQ(unbound.status().error(), "not_bound_author");
  Bind("orgA", "alpha", "author-1");
  Bind("orgA", "alpha", "author-1");  // the bound author may shake hands again
  protocol::HandshakeRequest hs;
  hs.author_id = "author-2";
  hs.bind = true;
  auto second = ingest_->Handshake(AuthorOf("orgA"), "alpha", hs);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kConflict);
  EXPECT_EQ(second.status().error(), "author_already_bound");
  EXPECT_NE(second.status().message().find("another author"), std::string::npos);
  auto t = tenants_->GetForAdmin(AdminOf("orgA"), "alpha");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->bound_author_id, "author-1");
  EXPECT_EQ(t->bound_author_url, "http://author.test/author-1");

  // After binding, calls from another author id are refused.
  auto check = ingest_->Check(AuthorOf("orgA"), "alpha", "author-2", {});
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().error(), "not_bound_author");
  EXPECT_TRUE(ingest_->Check(AuthorOf("orgA"), "alpha", "author-1", {}).ok());
}

TEST_F(Ingest, BlobsAreVerifiedAndPerTenant) {
  Bind("orgA", "alpha", "a1");
  Bind("orgB", "beta", "b1");
  std::string digest = Upload("orgA", "alpha", "a1", "hello portal");
  auto mine = ingest_->Check(AuthorOf("orgA"), "alpha", "a1", {{digest}});
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(mine->missing.empty());
  // The other tenant cannot learn that the blob exists.
  auto theirs = ingest_->Check(AuthorOf("orgB"), "beta", "b1", {{digest}});
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->missing, std::vector<std::string>{digest});

  // Bytes that do not match the digest leave nothing.
  std::string other = crypto::Sha256Hex("something else");
  std::string bytes = "not the right bytes";
  size_t off = 0;
  auto bad = ingest_->PutBlob(AuthorOf("orgA"), "alpha", "a1", other,
                              static_cast<int64_t>(bytes.size()), Feed(bytes, off));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().error(), "digest_mismatch");
  EXPECT_FALSE(*blobs_->Exists(other));
  EXPECT_FALSE(*blobs_->Exists(crypto::Sha256Hex(bytes)));
  auto still = ingest_->Check(AuthorOf("orgA"), "alpha", "a1", {{other}});
  EXPECT_EQ(still->missing.size(), 1u);

  auto no_length = ingest_->PutBlob(AuthorOf("orgA"), "alpha", "a1", other, std::nullopt,
                                    [](std::span<char>) -> StatusOr<size_t> { return 0; });
  EXPECT_EQ(no_length.status().error(), "length_required");
  auto bad_name = ingest_->PutBlob(AuthorOf("orgA"), "alpha", "a1", "../../etc/passwd", 0,
                                   [](std::span<char>) -> StatusOr<size_t> { return 0; });
  EXPECT_EQ(bad_name.status().error(), "invalid_digest");
}

TEST_F(Ingest, ReadsABlobInAsFewReadsAsItsLengthAllowsAndNothingPastIt) {
  Bind("orgA", "alpha", "a1");
  // 9 MiB + 5: a large blob, received through the pipelined, streaming writer.
  for (size_t size : {size_t{1}, size_t{200'000}, size_t{1} << 20, (size_t{5} << 20) / 2,
                      (size_t{9} << 20) + 5}) {
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 23);
    bytes += "trailing bytes past the Content-Length";  // never asked for
    size_t off = 0;
    std::vector<size_t> asked;
    auto r = ingest_->PutBlob(
        AuthorOf("orgA"), "alpha", "a1", crypto::Sha256Hex(std::string_view(bytes).substr(0, size)),
        static_cast<int64_t>(size), [&, feed = Feed(bytes, off)](std::span<char> buf) {
          asked.push_back(buf.size());
          return feed(buf);
        });
    ASSERT_TRUE(r.ok()) << size << ": " << r.status().ToString();
    EXPECT_EQ(r->receipt.size, static_cast<int64_t>(size));
    EXPECT_EQ(off, size);
    EXPECT_EQ(asked.size(), (size + (1u << 20) - 1) >> 20) << size;
    for (size_t a : asked) EXPECT_LE(a, size_t{1} << 20);
    auto reader = blobs_->Open(r->receipt.sha256);
    ASSERT_TRUE(reader.ok());
    std::string stored(size, '\0');
    auto n = (*reader)->ReadAt(0, stored.data(), stored.size());
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, size);
    EXPECT_TRUE(stored == std::string_view(bytes).substr(0, size)) << size;
  }
  // A large body that ends early is refused too, and leaves no blob and no temporary file.
  {
    const std::string large((size_t{9} << 20) + 5, 'L');
    size_t off = 0;
    auto cut = ingest_->PutBlob(AuthorOf("orgA"), "alpha", "a1", crypto::Sha256Hex(large),
                                static_cast<int64_t>(large.size()) + 100, Feed(large, off));
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.status().code(), Code::kInvalidArgument);
    EXPECT_FALSE(*blobs_->Exists(crypto::Sha256Hex(large)));
    EXPECT_TRUE(std::filesystem::is_empty(dir_ / "blobs" / "tmp"));
  }
  // A body that ends early is refused and leaves nothing.
  std::string bytes = "short body";
  size_t off = 0;
  auto short_body = ingest_->PutBlob(AuthorOf("orgA"), "alpha", "a1", crypto::Sha256Hex(bytes), 100,
                                     Feed(bytes, off));
  ASSERT_FALSE(short_body.ok());
  EXPECT_EQ(short_body.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(*blobs_->Exists(crypto::Sha256Hex(bytes)));
}

TEST_F(Ingest, CommitCreatesParentsAndIsolatesTenants) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", "logo bytes");
  auto r = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                           Commit("k1", {Asset("/content/dam/brand/logos/logo.png", 1, d, 10)}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(r->operations, 1);
  EXPECT_EQ(Names("orgA", "alpha", ""), std::vector<std::string>{"brand"});
  EXPECT_EQ(Names("orgA", "alpha", "content/dam/brand"), std::vector<std::string>{"logos"});
  EXPECT_EQ(Names("orgA", "alpha", "content/dam/brand/logos"),
            std::vector<std::string>{"logo.png"});
  // Through the alias too, for reading.
  EXPECT_EQ(Names("orgA", "alpha-alias", ""), std::vector<std::string>{"brand"});
  // The other tenant sees nothing of it, and its org cannot read the first tenant.
  EXPECT_TRUE(Names("orgB", "beta", "").empty());
  EXPECT_EQ(Names("orgB", "beta", "content/dam/brand"), std::vector<std::string>{"!not_found"});
  EXPECT_EQ(Names("orgB", "alpha", ""), std::vector<std::string>{"!unknown_tenant"});
  auto open = catalog_->OpenAsset(ReaderOf("orgB"), "alpha", "content/dam/brand/logos/logo.png");
  EXPECT_EQ(open.status().code(), Code::kNotFound);
  // The other tenant cannot commit an asset naming a blob only the first uploaded.
  Bind("orgB", "beta", "b1");
  auto steal = ingest_->Commit(AuthorOf("orgB"), "beta", "b1",
                               Commit("k1", {Asset("/content/dam/x.png", 1, d, 10)}));
  ASSERT_FALSE(steal.ok());
  EXPECT_EQ(steal.status().error(), "missing_blob");
}

TEST_F(Ingest, SeqOrderAndTombstonesConverge) {
  Bind("orgA", "alpha", "a1");
  std::string v1 = Upload("orgA", "alpha", "a1", "version one");
  std::string v2 = Upload("orgA", "alpha", "a1", "version two");
  const std::string p = "/content/dam/f/a.txt";
  // Version 2 (seq 5) arrives before version 1 (seq 3): the older one is skipped.
  ASSERT_TRUE(
      ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("c5", {Asset(p, 5, v2, 11)})).ok());
  auto old = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("c3", {Asset(p, 3, v1, 11)}));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->operations, 0);
  EXPECT_EQ(old->skipped, 1);
  EXPECT_EQ(catalog_->GetEntry(ReaderOf("orgA"), "alpha", p)->sha256, v2);
  // A delete (seq 7) leaves a tombstone: an older upsert (seq 6) arriving later stays deleted.
  ASSERT_TRUE(ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("c7", {Delete(p, 7)})).ok());
  auto late = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("c6", {Asset(p, 6, v1, 11)}));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->skipped, 1);
  EXPECT_EQ(catalog_->GetEntry(ReaderOf("orgA"), "alpha", p).status().code(), Code::kNotFound);
  // A newer upsert brings it back.
  auto again =
      ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("c8", {Asset(p, 8, v1, 11)}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->operations, 1);
  EXPECT_EQ(catalog_->GetEntry(ReaderOf("orgA"), "alpha", p)->sha256, v1);
}

TEST_F(Ingest, FolderDeleteRemovesSubtreeAndWinsOverOlderChildren) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", "x");
  ASSERT_TRUE(ingest_
                  ->Commit(AuthorOf("orgA"), "alpha", "a1",
                           Commit("c1", {Folder("/content/dam/f", 1),
                                         Asset("/content/dam/f/g/1.txt", 2, d, 1),
                                         Asset("/content/dam/f/2.txt", 3, d, 1),
                                         Asset("/content/dam/fg.txt", 4, d, 1)}))
                  .ok());
  EXPECT_EQ(Names("orgA", "alpha", ""), (std::vector<std::string>{"f", "fg.txt"}));
  EXPECT_EQ(Names("orgA", "alpha", "content/dam/f"), (std::vector<std::string>{"g", "2.txt"}));
  ASSERT_TRUE(
      ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("c2", {Delete("/content/dam/f", 10)}))
          .ok());
  EXPECT_EQ(Names("orgA", "alpha", ""), std::vector<std::string>{"fg.txt"});
  // A change below the deleted folder that the author made before the delete stays out.
  auto late = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                              Commit("c3", {Asset("/content/dam/f/late.txt", 9, d, 1)}));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->skipped, 1);
  EXPECT_EQ(Names("orgA", "alpha", ""), std::vector<std::string>{"fg.txt"});
}

TEST_F(Ingest, ReplayedCommitIsAppliedOnce) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", "x");
  auto c = Commit("same-key", {Asset("/content/dam/a.txt", 1, d, 1)});
  auto first = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", c);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->applied);
  auto replay = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", c);
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->applied);
  EXPECT_EQ(replay->operations, first->operations);
  EXPECT_EQ(replay->skipped, first->skipped);
  auto reused = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                                Commit("same-key", {Asset("/content/dam/b.txt", 2, d, 1)}));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.status().error(), "idempotency_key_reused");
  EXPECT_EQ(Names("orgA", "alpha", ""), std::vector<std::string>{"a.txt"});
}

TEST_F(Ingest, MissingBlobRefusesTheWholeCommit) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", "present");
  std::string absent = crypto::Sha256Hex("absent");
  auto r = ingest_->Commit(
      AuthorOf("orgA"), "alpha", "a1",
      Commit("k", {Folder("/content/dam/new", 1), Asset("/content/dam/new/ok.txt", 2, d, 7),
                   Asset("/content/dam/new/gone.txt", 3, absent, 6)}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_EQ(r.status().error(), "missing_blob");
  EXPECT_NE(r.status().message().find(absent), std::string::npos);
  EXPECT_TRUE(Names("orgA", "alpha", "").empty());
  // The key was not used up: once the blob is there, the same commit applies.
  Upload("orgA", "alpha", "a1", "absent");
  auto retry = ingest_->Commit(
      AuthorOf("orgA"), "alpha", "a1",
      Commit("k", {Folder("/content/dam/new", 1), Asset("/content/dam/new/ok.txt", 2, d, 7),
                   Asset("/content/dam/new/gone.txt", 3, absent, 6)}));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->operations, 3);
  // A stated size that is not the blob's is refused too.
  auto size = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                              Commit("k2", {Asset("/content/dam/s.txt", 9, d, 999)}));
  EXPECT_EQ(size.status().error(), "size_mismatch");
}

TEST_F(Ingest, BlobsAreSyncedByTheCommitAndADamagedOneFromBeforeARestartIsUploadedAgain) {
  Bind("orgA", "alpha", "a1");
  auto synced = [&](const std::string& digest) -> int64_t {
    auto r =
        db_->Execute("SELECT synced FROM blobs WHERE tenant = 'alpha' AND sha256 = $1", {digest});
    EXPECT_TRUE(r.ok());
    return r.ok() && !r->empty() ? (*r)[0].Int(0) : -1;
  };
  std::string d = Upload("orgA", "alpha", "a1", "written without fsync");
  EXPECT_EQ(synced(d), 0);  // not durable until a commit names it
  auto first = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                               Commit("k1", {Asset("/content/dam/a.txt", 1, d, 21)}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(synced(d), 1);

  // Uploaded, then the portal restarts (a new service knows nothing of what it wrote) after a
  // power cut that left the file short.
  std::string bytes = "lost to a power cut";
  std::string e = Upload("orgA", "alpha", "a1", bytes);
  ingest_ = std::make_unique<IngestService>(*store_, *blobs_, *tenants_, clock_);
  std::filesystem::resize_file(dir_ / "blobs" / e.substr(0, 2) / e, 3);
  auto check = ingest_->Check(AuthorOf("orgA"), "alpha", "a1", {.digests = {e}});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->missing.empty());  // the record says present: the commit finds out
  auto damaged = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                                 Commit("k2", {Asset("/content/dam/b.txt", 2, e, 19)}));
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().error(), "missing_blob");
  check = ingest_->Check(AuthorOf("orgA"), "alpha", "a1", {.digests = {e}});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->missing, std::vector<std::string>{e});
  // Uploaded again, the damaged copy is replaced and the commit applies.
  EXPECT_EQ(Upload("orgA", "alpha", "a1", bytes), e);
  auto again = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                               Commit("k2", {Asset("/content/dam/b.txt", 2, e, 19)}));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(synced(e), 1);
  EXPECT_EQ(std::filesystem::file_size(dir_ / "blobs" / e.substr(0, 2) / e), bytes.size());
}

TEST_F(Ingest, DryRunLeavesNothing) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", std::string(protocol::kTestPackageBytes));
  auto c = Commit("test-1",
                  {Asset(std::string(protocol::kTestPackagePath), 1, d,
                         static_cast<int64_t>(protocol::kTestPackageBytes.size()))},
                  /*dry_run=*/true);
  auto r = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->operations, 1);
  EXPECT_TRUE(Names("orgA", "alpha", "").empty());
  // Neither the seq nor the key was kept: the same dry run applies again.
  auto again = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", c);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->applied);
  EXPECT_EQ(again->operations, 1);
  // A dry run with a missing blob fails like a real commit.
  c.operations[0].sha256 = crypto::Sha256Hex("nope");
  EXPECT_EQ(ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", c).status().error(), "missing_blob");
}

TEST_F(Ingest, HostileOperationsAreRefused) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", "x");
  for (std::string path :
       std::vector<std::string>{"/content/dam/../etc", "relative/x", "/content/dam/a\\b",
                                std::string("/content/dam/a\0b", 16), "/content/dam", "/etc/passwd",
                                "/content/dam//x"}) {
    auto r = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("h", {Asset(path, 1, d, 1)}));
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << path;
  }
  auto zero_seq = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1",
                                  Commit("h", {Asset("/content/dam/x", 0, d, 1)}));
  EXPECT_EQ(zero_seq.status().code(), Code::kInvalidArgument);
  auto empty = ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("h", {}));
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Names("orgA", "alpha", "").empty());
}

}  // namespace
}  // namespace portico::portal

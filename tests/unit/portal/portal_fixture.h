// A portal's rules on a temporary SQLite file and blob folder with a fake clock, and two orgs
// each with a tenant, for the service tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/crypto/sha256.h"
#include "portal/service/catalog_service.h"
#include "portal/service/ingest_service.h"
#include "portal/service/tenant_service.h"
#include "portal/store/portal_store.h"
#include "store/fs_blob_store.h"
#include "store/sqlite_database.h"

namespace portico::portal {

inline Caller AdminOf(const std::string& org) { return {org, "admin@" + org, {"ims_admin"}}; }
inline Caller AuthorOf(const std::string& org) {
  return {org, "tech@" + org, {"openid", "ent_portal_sdk"}};
}
inline Caller ReaderOf(const std::string& org) { return {org, "user@" + org, {"openid"}}; }

class PortalFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/portal_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = store::OpenSqlite({.path = dir_ / "portal.db"});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto st = PortalStore::Open(*db_);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    auto blobs = store::OpenFsBlobStore({.root = dir_ / "blobs"});
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
    settings_.public_url = "http://portal.test";
    tenants_ = std::make_unique<TenantService>(*store_, clock_, settings_);
    ingest_ = std::make_unique<IngestService>(*store_, *blobs_, *tenants_, clock_);
    catalog_ = std::make_unique<CatalogService>(*store_, *blobs_, *tenants_);
    ASSERT_TRUE(tenants_->Create(AdminOf("orgA"), "alpha", "alpha-alias").ok());
    ASSERT_TRUE(tenants_->Create(AdminOf("orgB"), "beta", "").ok());
  }

  void TearDown() override {
    catalog_.reset();
    ingest_.reset();
    tenants_.reset();
    store_.reset();
    db_.reset();
    blobs_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Binds `author` to `tenant` with a handshake of org's author token.
  void Bind(const std::string& org, const std::string& tenant, const std::string& author) {
    protocol::HandshakeRequest hs;
    hs.author_id = author;
    hs.author_url = "http://author.test/" + author;
    hs.bind = true;
    auto r = ingest_->Handshake(AuthorOf(org), tenant, hs);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A request body handing out `bytes` from `offset` on, advancing it (both must outlive it).
  static ByteSource Feed(std::string_view bytes, size_t& offset) {
    return [bytes, &offset](std::span<char> buf) -> StatusOr<size_t> {
      size_t n = std::min(buf.size(), bytes.size() - offset);
      std::copy_n(bytes.data() + offset, n, buf.data());
      offset += n;
      return n;
    };
  }

  // Uploads `bytes` to the tenant and returns their digest.
  std::string Upload(const std::string& org, const std::string& tenant, const std::string& author,
                     const std::string& bytes) {
    std::string digest = crypto::Sha256Hex(bytes);
    size_t offset = 0;
    auto r = ingest_->PutBlob(AuthorOf(org), tenant, author, digest,
                              static_cast<int64_t>(bytes.size()), Feed(bytes, offset));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return digest;
  }

  static protocol::Operation Asset(const std::string& path, int64_t seq, const std::string& sha,
                                   int64_t size) {
    protocol::Operation op;
    op.kind = protocol::OpKind::kUpsertAsset;
    op.path = path;
    op.seq = seq;
    op.sha256 = sha;
    op.size = size;
    op.content_type = "text/plain";
    op.version = 1;
    op.modified_at = 1'700'000'000;
    return op;
  }
  static protocol::Operation Folder(const std::string& path, int64_t seq) {
    protocol::Operation op;
    op.kind = protocol::OpKind::kUpsertFolder;
    op.path = path;
    op.seq = seq;
    return op;
  }
  static protocol::Operation Delete(const std::string& path, int64_t seq) {
    protocol::Operation op;
    op.kind = protocol::OpKind::kDelete;
    op.path = path;
    op.seq = seq;
    return op;
  }
  static protocol::CommitRequest Commit(const std::string& key,
                                        std::vector<protocol::Operation> ops,
                                        bool dry_run = false) {
    protocol::CommitRequest c;
    c.idempotency_key = key;
    c.dry_run = dry_run;
    c.operations = std::move(ops);
    return c;
  }

  // The names of a folder's children as the reader of org sees them ("!" + error id on failure).
  std::vector<std::string> Names(const std::string& org, const std::string& tenant,
                                 const std::string& path) {
    auto page = catalog_->ListChildren(ReaderOf(org), tenant, path, std::nullopt, "");
    if (!page.ok()) return {"!" + page.status().error()};
    std::vector<std::string> out;
    for (const auto& e : page->entries) out.push_back(e.name);
    return out;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  PortalSettings settings_;
  std::unique_ptr<store::SqlDatabase> db_;
  std::unique_ptr<PortalStore> store_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<TenantService> tenants_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<CatalogService> catalog_;
};

}  // namespace portico::portal

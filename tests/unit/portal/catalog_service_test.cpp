// Reading: listing order, paging, entries, downloads.
#include <gtest/gtest.h>

#include "portal_fixture.h"

namespace portico::portal {
namespace {

using Catalog = PortalFixture;

TEST_F(Catalog, ListsFoldersFirstThenByNameWithPaging) {
  Bind("orgA", "alpha", "a1");
  std::string d = Upload("orgA", "alpha", "a1", "x");
  std::vector<protocol::Operation> ops;
  int64_t seq = 1;
  for (std::string n : {"b.txt", "a.txt", "c.txt"})
    ops.push_back(Asset("/content/dam/" + n, seq++, d, 1));
  for (std::string n : {"zeta", "alpha"}) ops.push_back(Folder("/content/dam/" + n, seq++));
  ASSERT_TRUE(ingest_->Commit(AuthorOf("orgA"), "alpha", "a1", Commit("k", ops)).ok());
  EXPECT_EQ(Names("orgA", "alpha", ""),
            (std::vector<std::string>{"alpha", "zeta", "a.txt", "b.txt", "c.txt"}));

  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = catalog_->ListChildren(ReaderOf("orgA"), "alpha", "/content/dam", 2, cursor);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& e : page->entries) seen.push_back(e.name);
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"alpha", "zeta", "a.txt", "b.txt", "c.txt"}));

  for (int bad : {0, -1, 1001}) {
    auto r = catalog_->ListChildren(ReaderOf("orgA"), "alpha", "", bad, "");
    EXPECT_EQ(r.status().error(), "invalid_limit") << bad;
  }
  for (std::string bad : {"garbage!", "Mjpmb28", "Li4vLi4v"}) {
    auto r = catalog_->ListChildren(ReaderOf("orgA"), "alpha", "", std::nullopt, bad);
    EXPECT_EQ(r.status().error(), "invalid_cursor") << bad;
  }
  auto asset =
      catalog_->ListChildren(ReaderOf("orgA"), "alpha", "content/dam/a.txt", std::nullopt, "");
  EXPECT_EQ(asset.status().error(), "not_a_folder");
  auto traversal =
      catalog_->ListChildren(ReaderOf("orgA"), "alpha", "content/dam/../x", std::nullopt, "");
  EXPECT_EQ(traversal.status().code(), Code::kInvalidArgument);
}

TEST_F(Catalog, OpensAnAssetsContent) {
  Bind("orgA", "alpha", "a1");
  std::string body = "0123456789";
  std::string d = Upload("orgA", "alpha", "a1", body);
  ASSERT_TRUE(ingest_
                  ->Commit(AuthorOf("orgA"), "alpha", "a1",
                           Commit("k", {Asset("/content/dam/n.txt", 1, d, 10)}))
                  .ok());
  auto a = catalog_->OpenAsset(ReaderOf("orgA"), "alpha", "content/dam/n.txt");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  char buf[4];
  auto n = a->reader->ReadAt(3, buf, 4);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "3456");
  EXPECT_EQ(a->entry.sha256, d);
  auto folder = catalog_->OpenAsset(ReaderOf("orgA"), "alpha", "content/dam");
  EXPECT_EQ(folder.status().error(), "not_an_asset");
  auto missing = catalog_->OpenAsset(ReaderOf("orgA"), "alpha", "content/dam/none");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace portico::portal

#include "protocol/publish.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::protocol {
namespace {

using nlohmann::json;

const std::string kDigest(64, 'a');

TEST(Publish, CommitRoundTrips) {
  CommitRequest c;
  c.idempotency_key = "author-1:item:42";
  c.operations.push_back({.kind = OpKind::kUpsertFolder,
                          .path = "/content/dam/f",
                          .seq = 1,
                          .title = "F",
                          .modified_at = 5});
  c.operations.push_back({.kind = OpKind::kUpsertAsset,
                          .path = "/content/dam/f/a.png",
                          .seq = 2,
                          .modified_at = 6,
                          .sha256 = kDigest,
                          .size = 10,
                          .content_type = "image/png",
                          .version = 3});
  c.operations.push_back({.kind = OpKind::kDelete, .path = "/content/dam/old", .seq = 3});
  auto parsed = ParseCommitRequest(ToJson(c));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(ToJson(*parsed), ToJson(c));
  EXPECT_EQ(parsed->operations[1].sha256, kDigest);
  EXPECT_EQ(parsed->operations[2].kind, OpKind::kDelete);
}

TEST(Publish, CommitRefusesMalformed) {
  json good = {{"idempotency_key", "k"},
               {"operations",
                {{{"op", "upsert_asset"},
                  {"path", "/content/dam/a"},
                  {"seq", 1},
                  {"sha256", kDigest},
                  {"size", 1}}}}};
  ASSERT_TRUE(ParseCommitRequest(good).ok());
  auto expect_bad = [&](json j, const char* why) {
    auto r = ParseCommitRequest(j);
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << why;
    }
  };
  json j = good;
  j["extra"] = 1;
  expect_bad(j, "unknown field");
  j = good;
  j["idempotency_key"] = "has space";
  expect_bad(j, "bad key");
  j = good;
  j["idempotency_key"] = std::string(129, 'k');
  expect_bad(j, "long key");
  j = good;
  j["operations"] = json::array();
  expect_bad(j, "no operations");
  j = good;
  j["operations"][0]["path"] = "/content/dam/../etc";
  expect_bad(j, "traversal");
  j = good;
  j["operations"][0]["path"] = "/content/dam/a/";
  expect_bad(j, "not canonical");
  j = good;
  j["operations"][0]["sha256"] = "../../etc/passwd";
  expect_bad(j, "bad digest");
  j = good;
  j["operations"][0]["sha256"] = std::string(64, 'A');
  expect_bad(j, "upper-case digest");
  j = good;
  j["operations"][0].erase("size");
  expect_bad(j, "no size");
  j = good;
  j["operations"][0]["size"] = -1;
  expect_bad(j, "negative size");
  j = good;
  j["operations"][0]["seq"] = 0;
  expect_bad(j, "seq 0");
  j = good;
  j["operations"][0]["seq"] = "1";
  expect_bad(j, "seq string");
  j = good;
  j["operations"][0]["op"] = "drop_table";
  expect_bad(j, "unknown op");
  j = good;
  j["operations"][0]["path"] = "/content/dam";
  expect_bad(j, "asset at root");
  j = good;
  j["operations"][0]["op"] = "delete";
  expect_bad(j, "delete with a digest");
  j = good;
  j["operations"] = json::array();
  for (size_t i = 0; i <= kMaxCommitOperations; ++i)
    j["operations"].push_back(good["operations"][0]);
  expect_bad(j, "too many operations");
  expect_bad(json::array(), "not an object");
  expect_bad(json("x"), "a string");
}

TEST(Publish, CheckDeduplicatesAndValidates) {
  auto r = ParseCheckRequest({{"digests", {kDigest, kDigest, std::string(64, 'b')}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->digests.size(), 2u);
  EXPECT_FALSE(ParseCheckRequest({{"digests", {"abc"}}}).ok());
  EXPECT_FALSE(ParseCheckRequest({{"digests", {1}}}).ok());
  EXPECT_FALSE(ParseCheckRequest({{"digests", "x"}}).ok());
  json many = {{"digests", json::array()}};
  for (size_t i = 0; i <= kMaxCheckDigests; ++i) many["digests"].push_back(kDigest);
  EXPECT_FALSE(ParseCheckRequest(many).ok());
}

TEST(Publish, HandshakeValidatesVersions) {
  HandshakeRequest h{.author_id = "author-1", .author_url = "http://a", .bind = true};
  auto r = ParseHandshakeRequest(ToJson(h));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->bind);
  EXPECT_EQ(r->protocol_version, kPublishProtocolVersion);
  json j = ToJson(h);
  j["min_protocol_version"] = 5;
  EXPECT_FALSE(ParseHandshakeRequest(j).ok());
  j = ToJson(h);
  j["author_id"] = "has space";
  EXPECT_FALSE(ParseHandshakeRequest(j).ok());
  j = ToJson(h);
  j["protocol_version"] = 0;
  EXPECT_FALSE(ParseHandshakeRequest(j).ok());
  EXPECT_NE(AuthorTooOldMessage(1, 2).find("is not supported"), std::string::npos);
}

TEST(Publish, ResponsesRoundTrip) {
  HandshakeResponse hs{.tenant = "demo", .org = "o@PorticoOrg", .bound_author_id = "a"};
  EXPECT_EQ(ToJson(*ParseHandshakeResponse(ToJson(hs))), ToJson(hs));
  CommitResponse cr{.idempotency_key = "k", .applied = false, .operations = 2, .skipped = 1};
  EXPECT_EQ(ToJson(*ParseCommitResponse(ToJson(cr))), ToJson(cr));
  BlobReceipt b{.sha256 = kDigest, .size = 3};
  EXPECT_EQ(ToJson(*ParseBlobReceipt(ToJson(b))), ToJson(b));
  EXPECT_TRUE(IsSha256Hex(kDigest));
  EXPECT_FALSE(IsSha256Hex(kDigest + "a"));
}

}  // namespace
}  // namespace portico::protocol

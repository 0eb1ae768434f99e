#include "portal/service/byte_range.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::portal {
namespace {

struct Case {
  std::string header;
  int64_t size;
  std::string want;  // "first-last", "none" (serve whole), or the error id
};

std::string Outcome(const std::string& header, int64_t size) {
  auto r = ParseRange(header, size);
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kRangeNotSatisfiable) << header;
    return r.status().error();
  }
  if (!*r) return "none";
  return std::to_string((*r)->first) + "-" + std::to_string((*r)->last);
}

TEST(ByteRange, TableOfGoodAndHostileHeaders) {
  std::string hundreds = "bytes=";
  for (int i = 0; i < 300; ++i) hundreds += std::to_string(i) + "-" + std::to_string(i) + ",";
  const Case cases[] = {
      {"bytes=0-9", 100, "0-9"},
      {"bytes=10-", 100, "10-99"},
      {"bytes=-10", 100, "90-99"},
      {"bytes=-1000", 100, "0-99"},
      {"bytes=0-1000", 100, "0-99"},
      {"bytes=99-99", 100, "99-99"},
      {"BYTES = 5-6", 100, "5-6"},
      {"bytes=0-99999999999999999999999", 100, "0-99"},
      {"bytes=100-", 100, "range_not_satisfiable"},
      {"bytes=100-200", 100, "range_not_satisfiable"},
      {"bytes=99999999999999999999999-", 100, "range_not_satisfiable"},
      {"bytes=-0", 100, "range_not_satisfiable"},
      {"bytes=0-0", 0, "range_not_satisfiable"},
      {"bytes=-5", 0, "range_not_satisfiable"},
      {"bytes=0-1,2-3", 100, "multiple_ranges"},
      {"bytes=0-50,25-75", 100, "multiple_ranges"},
      {"bytes=5-1", 100, "invalid_range"},
      {"bytes=a-b", 100, "invalid_range"},
      {"bytes=-", 100, "invalid_range"},
      {"bytes=1", 100, "invalid_range"},
      {"bytes=+1-2", 100, "invalid_range"},
      {"bytes=0x10-20", 100, "invalid_range"},
      {"bytes=1-2-3", 100, "invalid_range"},
      {"bytes 0-5", 100, "invalid_range"},
      {"=0-5", 100, "invalid_range"},
      {"", 100, "invalid_range"},
      {std::string("bytes=0-\0", 9), 100, "invalid_range"},
      {hundreds, 100000, "invalid_range"},  // longer than 256 characters
      {"items=0-5", 100, "none"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Outcome(c.header, c.size), c.want) << "Range: " << c.header.substr(0, 40);
  }
}

TEST(ByteRange, ShortListOfRangesIsRefusedAsMultiple) {
  EXPECT_EQ(Outcome("bytes=0-1,3-4,6-7,9-10", 100), "multiple_ranges");
}

TEST(ByteRange, SelectRangeHonoursIfRangeAndRepeatedHeaders) {
  const std::string etag = "\"abc\"";
  auto none = SelectRange(std::nullopt, 0, std::nullopt, etag, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto matching = SelectRange("bytes=1-2", 1, "\"abc\"", etag, 100);
  ASSERT_TRUE(matching.ok());
  ASSERT_TRUE(*matching);
  EXPECT_EQ((*matching)->first, 1);
  auto stale = SelectRange("bytes=1-2", 1, "\"other\"", etag, 100);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);  // the whole file, since the client's copy is another
  auto date = SelectRange("bytes=1-2", 1, "Wed, 21 Oct 2015 07:28:00 GMT", etag, 100);
  ASSERT_TRUE(date.ok());
  EXPECT_FALSE(*date);
  auto twice = SelectRange("bytes=1-2", 2, std::nullopt, etag, 100);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().error(), "multiple_ranges");
}

}  // namespace
}  // namespace portico::portal

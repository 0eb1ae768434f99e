#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "store/sql.h"

namespace portico::store {
namespace {

// uint64_t and size_t may exceed INT64_MAX; char is too easily a mistake for text.
static_assert(!std::is_constructible_v<SqlValue, uint64_t>);
static_assert(!std::is_constructible_v<SqlValue, size_t>);
static_assert(!std::is_constructible_v<SqlValue, char>);
static_assert(std::is_convertible_v<uint32_t, SqlValue>);
static_assert(std::is_convertible_v<std::optional<std::string>, SqlValue>);

template <typename T>
bool Holds(const SqlValue& v) {
  return std::holds_alternative<T>(v.variant());
}

TEST(SqlValueTest, ConvertsWhatCallersHold) {
  EXPECT_EQ(std::get<int64_t>(SqlValue(5).variant()), 5);
  EXPECT_EQ(std::get<int64_t>(SqlValue(true).variant()), 1);
  EXPECT_EQ(std::get<int64_t>(SqlValue(false).variant()), 0);
  EXPECT_EQ(std::get<int64_t>(SqlValue(std::numeric_limits<uint32_t>::max()).variant()),
            4294967295);
  EXPECT_EQ(std::get<int64_t>(SqlValue(std::numeric_limits<int64_t>::min()).variant()),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(std::get<double>(SqlValue(1.5).variant()), 1.5);
  EXPECT_EQ(std::get<double>(SqlValue(2.5f).variant()), 2.5);
  EXPECT_EQ(std::get<std::string>(SqlValue("text").variant()), "text");
  EXPECT_EQ(std::get<std::string>(SqlValue(std::string("s")).variant()), "s");
  EXPECT_EQ(std::get<std::string>(SqlValue(std::string_view("v")).variant()), "v");
  EXPECT_EQ(std::get<SqlBlob>(SqlValue(SqlBlob{"b"}).variant()).bytes, "b");
  EXPECT_TRUE(SqlValue().is_null());
  EXPECT_TRUE(SqlValue(nullptr).is_null());
  EXPECT_TRUE(SqlValue(std::nullopt).is_null());
  EXPECT_TRUE(SqlValue(static_cast<const char*>(nullptr)).is_null());
  EXPECT_TRUE(SqlValue(std::optional<int>()).is_null());
  EXPECT_EQ(std::get<int64_t>(SqlValue(std::optional<int>(7)).variant()), 7);
  EXPECT_EQ(std::get<std::string>(SqlValue(std::optional<std::string>("o")).variant()), "o");
}

TEST(SqlValueTest, ParamsListMixesTypes) {
  std::optional<std::string> missing;
  SqlParams params = {"org", 42, int64_t{7}, 0.25, missing, SqlBlob{std::string("\0x", 2)}};
  ASSERT_EQ(params.size(), 6u);
  EXPECT_TRUE(Holds<std::string>(params[0]));
  EXPECT_TRUE(Holds<int64_t>(params[1]));
  EXPECT_TRUE(Holds<int64_t>(params[2]));
  EXPECT_TRUE(Holds<double>(params[3]));
  EXPECT_TRUE(params[4].is_null());
  EXPECT_EQ(std::get<SqlBlob>(params[5].variant()).bytes.size(), 2u);
  EXPECT_EQ(params[5].type_name(), "BLOB");
}

SqlRow MakeRow() {
  auto names = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"id", "name", "score", "data", "gone"});
  return SqlRow(names, {int64_t{3}, std::string("ada"), 2.5, SqlBlob{"xy"}, nullptr});
}

TEST(SqlRowTest, ReadsByPositionAndName) {
  SqlRow row = MakeRow();
  EXPECT_EQ(row.size(), 5u);
  EXPECT_EQ(row.Int(0), 3);
  EXPECT_EQ(row.Int("id"), 3);
  EXPECT_EQ(row.Text(1), "ada");
  EXPECT_EQ(row.Text("name"), "ada");
  EXPECT_EQ(row.Real("score"), 2.5);
  EXPECT_EQ(row.Real("id"), 3.0);  // an INTEGER widens
  EXPECT_EQ(row.Blob("data"), "xy");
  EXPECT_TRUE(row.IsNull("gone"));
  EXPECT_FALSE(row.IsNull(0));
  EXPECT_EQ(row.OptionalText("gone"), std::nullopt);
  EXPECT_EQ(row.OptionalInt("gone"), std::nullopt);
  EXPECT_EQ(row.OptionalReal("gone"), std::nullopt);
  EXPECT_EQ(row.OptionalBlob("gone"), std::nullopt);
  EXPECT_EQ(row.OptionalText("name"), "ada");
  EXPECT_EQ(row.OptionalInt("id"), 3);
  EXPECT_EQ(row.FindColumn("nope"), std::nullopt);
  EXPECT_EQ(row.column_name(3), "data");
}

TEST(SqlRowDeathTest, WrongTypeAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SqlRow row = MakeRow();
  EXPECT_DEATH((void)row.Int("name"), "column 1 \\('name'\\) is TEXT, read as INTEGER");
  EXPECT_DEATH((void)row.Text("data"), "is BLOB, read as TEXT");
  EXPECT_DEATH((void)row.Text("gone"), "is NULL, read as TEXT");
  EXPECT_DEATH((void)row.OptionalInt("name"), "is TEXT, read as INTEGER");
}

TEST(SqlRowDeathTest, MissingColumnAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SqlRow row = MakeRow();
  EXPECT_DEATH((void)row.Text("nope"), "no column named 'nope'");
  EXPECT_DEATH((void)row.Int(9), "column 9 requested from a row of 5 columns");
  SqlResult empty;
  EXPECT_DEATH((void)empty[0], "row 0 requested from a result of 0 rows");
}

}  // namespace
}  // namespace portico::store

#include "store/sql.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace portico::store {
namespace {

constexpr size_t kNullIndex = 0;
constexpr size_t kIntIndex = 1;
constexpr size_t kRealIndex = 2;
constexpr size_t kTextIndex = 3;
constexpr size_t kBlobIndex = 4;
static_assert(
    std::is_same_v<std::variant_alternative_t<kNullIndex, SqlValue::Variant>, std::nullptr_t>);
static_assert(std::is_same_v<std::variant_alternative_t<kIntIndex, SqlValue::Variant>, int64_t>);
static_assert(std::is_same_v<std::variant_alternative_t<kRealIndex, SqlValue::Variant>, double>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kTextIndex, SqlValue::Variant>, std::string>);
static_assert(std::is_same_v<std::variant_alternative_t<kBlobIndex, SqlValue::Variant>, SqlBlob>);

constexpr std::string_view kTypeNames[] = {"NULL", "INTEGER", "REAL", "TEXT", "BLOB"};

// Reading a result the wrong way is a bug in the caller: say where, then stop.
[[noreturn]] void AbortOnMisuse(const std::string& what) {
  std::fprintf(stderr, "portico::store::SqlRow misuse: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

std::string_view SqlValue::type_name() const { return kTypeNames[v_.index()]; }

SqlRow::SqlRow(std::shared_ptr<const std::vector<std::string>> column_names,
               std::vector<SqlValue> values)
    : column_names_(std::move(column_names)), values_(std::move(values)) {
  if (column_names_ == nullptr || column_names_->size() != values_.size()) {
    AbortOnMisuse("a row needs one column name per value");
  }
}

const std::string& SqlRow::column_name(size_t col) const {
  if (col >= values_.size()) {
    AbortOnMisuse("column " + std::to_string(col) + " requested from a row of " +
                  std::to_string(values_.size()) + " columns");
  }
  return (*column_names_)[col];
}

const SqlValue& SqlRow::value(size_t col) const {
  if (col >= values_.size()) {
    AbortOnMisuse("column " + std::to_string(col) + " requested from a row of " +
                  std::to_string(values_.size()) + " columns");
  }
  return values_[col];
}

std::optional<size_t> SqlRow::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < column_names_->size(); ++i) {
    if ((*column_names_)[i] == name) return i;
  }
  return std::nullopt;
}

size_t SqlRow::ColumnIndex(std::string_view name) const {
  std::optional<size_t> col = FindColumn(name);
  if (!col.has_value()) AbortOnMisuse("no column named '" + std::string(name) + "'");
  return *col;
}

const SqlValue& SqlRow::Checked(size_t col, size_t want_index, std::string_view want) const {
  const SqlValue& v = value(col);
  if (v.variant().index() != want_index) {
    AbortOnMisuse("column " + std::to_string(col) + " ('" + (*column_names_)[col] + "') is " +
                  std::string(v.type_name()) + ", read as " + std::string(want));
  }
  return v;
}

bool SqlRow::IsNull(size_t col) const { return value(col).is_null(); }

int64_t SqlRow::Int(size_t col) const {
  return std::get<kIntIndex>(Checked(col, kIntIndex, "INTEGER").variant());
}

double SqlRow::Real(size_t col) const {
  const SqlValue& v = value(col);
  if (const int64_t* i = std::get_if<kIntIndex>(&v.variant())) return static_cast<double>(*i);
  return std::get<kRealIndex>(Checked(col, kRealIndex, "REAL").variant());
}

const std::string& SqlRow::Text(size_t col) const {
  return std::get<kTextIndex>(Checked(col, kTextIndex, "TEXT").variant());
}

const std::string& SqlRow::Blob(size_t col) const {
  return std::get<kBlobIndex>(Checked(col, kBlobIndex, "BLOB").variant()).bytes;
}

std::optional<int64_t> SqlRow::OptionalInt(size_t col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<double> SqlRow::OptionalReal(size_t col) const {
  if (IsNull(col)) return std::nullopt;
  return Real(col);
}

std::optional<std::string> SqlRow::OptionalText(size_t col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

std::optional<std::string> SqlRow::OptionalBlob(size_t col) const {
  if (IsNull(col)) return std::nullopt;
  return Blob(col);
}

const SqlRow& SqlResult::operator[](size_t i) const {
  if (i >= rows.size()) {
    AbortOnMisuse("row " + std::to_string(i) + " requested from a result of " +
                  std::to_string(rows.size()) + " rows");
  }
  return rows[i];
}

}  // namespace portico::store

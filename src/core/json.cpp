#include "core/json.h"

#include <cstdint>
#include <vector>

namespace portico {
namespace {

using Json = nlohmann::json;

// Key names are document structure, not values, so they may appear in messages; they are still
// clipped and reduced to printable ASCII because the document may be hostile.
std::string PrintableKey(std::string_view key) {
  constexpr size_t kMaxShown = 40;
  std::string out;
  for (char c : key.substr(0, kMaxShown)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (key.size() > kMaxShown) out += "...";
  return out;
}

// A SAX handler that builds the DOM like nlohmann's own, but stops at the first duplicate key or
// at excessive depth. Returning false from any event makes the parser stop.
class StrictDomBuilder {
 public:
  StrictDomBuilder(Json& root, int max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() { return Put(nullptr) != nullptr; }
  bool boolean(bool v) { return Put(v) != nullptr; }
  bool number_integer(Json::number_integer_t v) { return Put(v) != nullptr; }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(v) != nullptr; }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Put(v) != nullptr; }
  bool string(Json::string_t& v) { return Put(std::move(v)) != nullptr; }
  bool binary(Json::binary_t& v) { return Put(Json::binary(std::move(v))) != nullptr; }

  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(Json::string_t& key) {
    Json& object = *stack_.back();
    if (object.contains(key)) {
      error_ = InvalidArgument("invalid JSON: duplicate key '" + PrintableKey(key) + "'");
      return false;
    }
    pending_member_ = &object[key];
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const Json::exception& ex) {
    // nlohmann's message quotes the offending input, so only its kind is kept.
    const char* what = ex.id == 406 ? "number out of range" : "syntax error";
    error_ = InvalidArgument("invalid JSON: " + std::string(what) + " at byte " +
                             std::to_string(position));
    return false;
  }

  const Status& error() const { return error_; }

 private:
  // Stores a value at the current position and returns where it went, or nullptr on failure.
  Json* Put(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    // Pointers to array elements on the stack stay valid: a parent array grows only after its
    // open child has been closed and popped.
    *pending_member_ = std::move(value);
    return pending_member_;
  }

  bool Open(Json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      error_ = InvalidArgument("invalid JSON: nesting is deeper than " +
                               std::to_string(max_depth_) + " levels");
      return false;
    }
    Json* placed = Put(std::move(container));
    stack_.push_back(placed);
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  Json& root_;
  const int max_depth_;
  std::vector<Json*> stack_;
  Json* pending_member_ = nullptr;
  Status error_;
};

}  // namespace

StatusOr<Json> ParseStrictJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidArgument("invalid JSON: text is larger than " + std::to_string(limits.max_bytes) +
                           " bytes");
  }
  Json root;
  StrictDomBuilder builder(root, limits.max_depth);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (!ok) {
    if (!builder.error().ok()) return builder.error();
    return InvalidArgument("invalid JSON");
  }
  return root;
}

std::string JsonDump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace portico

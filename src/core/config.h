// Layered configuration. A setting has a flat snake_case key ("public_url", "log_file"); its
// value comes from, lowest to highest precedence: the built-in default, a JSON config file (nested
// objects flatten with '_': {"log": {"file": x}} is "log_file"), the environment
// (PORTICO_LOG_FILE), and command-line flags (--log-file). Immutable after Load: thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace portico {

class Config {
 public:
  // Reads `file` (if non-empty; a missing file is an error), then PORTICO_* variables, then
  // `flags` (keys as given, dashes turned into underscores).
  static StatusOr<Config> Load(const std::filesystem::path& file,
                               const std::map<std::string, std::string>& flags,
                               const std::map<std::string, std::string>& defaults = {});

  std::optional<std::string> Get(std::string_view key) const;
  std::string GetString(std::string_view key, std::string_view fallback = "") const;
  // Fails with kInvalidArgument naming the key when the value is not an integer in range.
  StatusOr<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  // The same, and fails naming the key and the range when the value is outside [min, max].
  StatusOr<int64_t> GetInt(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;
  StatusOr<bool> GetBool(std::string_view key, bool fallback) const;

  void Set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace portico

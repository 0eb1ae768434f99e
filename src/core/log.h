// Structured logs: one JSON object a line, with a timestamp, level, event name, the service and
// request id of the calling thread's current request, and the given fields. Field values under
// names that hold secrets (password, secret, token, key, authorization, cookie, ...) are replaced
// by "[redacted]" at any depth, so a careless call cannot write a secret. Thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace portico::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Sends logs to a file (appended, mode 0600) instead of standard error.
Status OpenFile(const std::filesystem::path& path);
void SetMinimumLevel(Level level);

void Write(Level level, std::string_view event, nlohmann::json fields = nlohmann::json::object());
inline void Debug(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kDebug, e, std::move(f));
}
inline void Info(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kInfo, e, std::move(f));
}
inline void Warn(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kWarn, e, std::move(f));
}
inline void Error(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kError, e, std::move(f));
}

// Writes one line whose fields are JSON already: `fields_json` is `"name":value,...` (or empty),
// built by trusted code with AppendJsonString. Nothing is redacted, so this is only for fields
// known to hold no secret (the HTTP access log, which writes one line per request and skips the
// cost of building a JSON document).
void WritePrebuilt(Level level, std::string_view event, std::string_view fields_json);
// Appends `s` as a JSON string literal. Bytes above 0x7F are written as \u00XX escapes (each
// byte on its own), so the result is valid JSON whatever the input.
void AppendJsonString(std::string& out, std::string_view s);

// True if a field of this name is redacted.
bool IsSecretFieldName(std::string_view name);

// The calling thread's log context: set by the HTTP server around each handler so every line a
// handler writes names its service and request. A scope restores the previous context.
class ContextScope {
 public:
  ContextScope(std::string service, std::string request_id);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  std::string saved_service_;
  std::string saved_request_id_;
};

// The current thread's request id ("" outside a request); the HTTP client forwards it.
const std::string& CurrentRequestId();
const std::string& CurrentService();

}  // namespace portico::log

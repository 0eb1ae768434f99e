#include "core/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#include "core/json.h"

namespace portico::log {
namespace {

std::mutex g_mutex;
int g_fd = STDERR_FILENO;
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
thread_local std::string t_service;
thread_local std::string t_request_id;

void WriteFd(std::string_view text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(g_fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// Access-log lines (one per request: a write(2) each was ~3 % of a token exchange) are gathered
// and written together: by a thread at most kFlushDelay after the first of them, or at once when
// kFlushBytes have gathered. Every other line first writes what is gathered, then itself, so the
// order of lines is kept, and a warning or error is on disk when the call returns. What is lost on
// kill -9 or abort() is at most the last kFlushDelay of access-log lines; a normal exit writes
// them.
constexpr auto kFlushDelay = std::chrono::milliseconds(10);
constexpr size_t kFlushBytes = 16 * 1024;

class Gathered {
 public:
  ~Gathered() {
    {
      std::lock_guard lock(g_mutex);
      stopping_ = true;
      WriteLocked();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Appends a line; called with g_mutex held.
  void AddLocked(std::string_view line) {
    if (stopping_) {
      WriteFd(line);
      return;
    }
    const bool was_empty = text_.empty();
    text_ += line;
    if (text_.size() >= kFlushBytes) {
      WriteLocked();
    } else if (was_empty) {
      if (!thread_.joinable() && !Start()) {
        stopping_ = true;  // no thread to write later: every line is written at once from now on
        WriteLocked();
        return;
      }
      wake_.notify_one();
    }
  }

  // Writes what is gathered; called with g_mutex held.
  void WriteLocked() {
    if (text_.empty()) return;
    WriteFd(text_);
    text_.clear();
  }

  // In a forked child (g_mutex held since the fork): the parent writes what was gathered, and the
  // thread did not survive the fork. Its std::thread (an id, nothing allocated) must not be joined
  // or detached, and the condition variable still counts it as a waiter (glibc keeps the count
  // inside it): destroying or notifying it could wait for a thread that is not there. Fresh
  // objects are built over both; the old ones are abandoned, never destroyed.
  void ForgetAfterFork() {
    text_.clear();
    new (&thread_) std::thread();
    new (&wake_) std::condition_variable();
  }

 private:
  // Starts the writing thread; false if the system refuses a thread.
  bool Start() {
    // A fork while another thread holds g_mutex would leave it locked forever in the child.
    [[maybe_unused]] static const int registered =
        pthread_atfork([] { g_mutex.lock(); }, [] { g_mutex.unlock(); }, OnForkChild);
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error&) {
      return false;
    }
    return true;
  }
  static void OnForkChild();

  void Run() {
    std::unique_lock lock(g_mutex);
    while (!stopping_) {
      wake_.wait(lock, [this] { return stopping_ || !text_.empty(); });
      if (stopping_) break;
      wake_.wait_for(lock, kFlushDelay, [this] { return stopping_ || text_.empty(); });
      WriteLocked();
    }
  }

  std::string text_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

Gathered g_gathered;

void Gathered::OnForkChild() {
  g_gathered.ForgetAfterFork();
  g_mutex.unlock();
}

void WriteText(std::string_view text) {
  std::lock_guard lock(g_mutex);
  g_gathered.WriteLocked();
  WriteFd(text);
}

void GatherText(std::string_view text) {
  std::lock_guard lock(g_mutex);
  g_gathered.AddLocked(text);
}

constexpr std::array<std::string_view, 4> kLevelNames = {"debug", "info", "warn", "error"};

// Substrings of field names that hold secrets. Lower-case comparison.
constexpr std::array<std::string_view, 12> kSecretWords = {
    "password",  "secret",     "token",      "authorization", "cookie",     "private",
    "assertion", "credential", "passphrase", "api_key",       "master_key", "signature"};

void Redact(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (IsSecretFieldName(it.key())) {
        it.value() = "[redacted]";
      } else {
        Redact(it.value());
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) Redact(v);
  }
}

// "2026-11-25T08:01:30.123Z". The date and time of the second are formatted once per second per
// thread (gmtime_r and snprintf were a fifth of an access-log line's cost); the milliseconds every
// time.
std::string Timestamp() {
  const auto ms_since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const int64_t secs = ms_since_epoch / 1000 - (ms_since_epoch % 1000 < 0 ? 1 : 0);
  const int ms = static_cast<int>(ms_since_epoch - secs * 1000);
  thread_local int64_t cached_secs = -1;
  thread_local char prefix[48] = {};  // up to and including the '.'
  thread_local size_t prefix_size = 0;
  if (secs != cached_secs) {
    const auto t = static_cast<time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    const int n =
        std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    prefix_size = n > 0 ? std::min(static_cast<size_t>(n), sizeof prefix - 1) : 0;
    cached_secs = secs;
  }
  std::string out(prefix, prefix_size);
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

}  // namespace

bool IsSecretFieldName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto w : kSecretWords) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

Status OpenFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot open log file " + path.string());
  std::lock_guard lock(g_mutex);
  g_gathered.WriteLocked();
  if (g_fd != STDERR_FILENO) ::close(g_fd);
  g_fd = fd;
  return Status::Ok();
}

void SetMinimumLevel(Level level) { g_min_level = static_cast<int>(level); }

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7F) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
}

void WritePrebuilt(Level level, std::string_view event, std::string_view fields_json) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string text;
  text.reserve(160 + fields_json.size());
  text += "{\"ts\":\"";
  text += Timestamp();
  text += "\",\"level\":\"";
  text += kLevelNames[static_cast<int>(level)];
  text += '"';
  if (!t_service.empty()) {
    text += ",\"service\":";
    AppendJsonString(text, t_service);
  }
  text += ",\"event\":";
  AppendJsonString(text, event);
  if (!t_request_id.empty()) {
    text += ",\"request_id\":";
    AppendJsonString(text, t_request_id);
  }
  if (!fields_json.empty()) {
    text += ',';
    text += fields_json;
  }
  text += "}\n";
  if (level <= Level::kInfo) {
    GatherText(text);
  } else {
    WriteText(text);
  }
}

void Write(Level level, std::string_view event, nlohmann::json fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  if (!fields.is_object()) fields = nlohmann::json{{"value", std::move(fields)}};
  Redact(fields);
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = Timestamp();
  line["level"] = kLevelNames[static_cast<int>(level)];
  if (!t_service.empty()) line["service"] = t_service;
  line["event"] = event;
  if (!t_request_id.empty()) line["request_id"] = t_request_id;
  for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  std::string text = JsonDump(line);
  text += '\n';
  WriteText(text);
}

ContextScope::ContextScope(std::string service, std::string request_id)
    : saved_service_(std::move(t_service)), saved_request_id_(std::move(t_request_id)) {
  t_service = std::move(service);
  t_request_id = std::move(request_id);
}

ContextScope::~ContextScope() {
  t_service = std::move(saved_service_);
  t_request_id = std::move(saved_request_id_);
}

const std::string& CurrentRequestId() { return t_request_id; }
const std::string& CurrentService() { return t_service; }

}  // namespace portico::log

#include "core/http/message.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/json.h"

namespace portico::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return EqualsIgnoreCase(f.first, name); });
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

size_t Headers::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(fields_.begin(), fields_.end(), [&](const auto& f) {
    return EqualsIgnoreCase(f.first, name);
  }));
}

StatusOr<std::string> BodyReader::ReadAll(size_t max_bytes) {
  std::string out;
  char buf[16384];
  for (;;) {
    PORTICO_ASSIGN_OR_RETURN(size_t n, Read(buf));
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      return Status(Code::kPayloadTooLarge,
                    "request body exceeds " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, n);
  }
}

StatusOr<size_t> StringBodyReader::Read(std::span<char> buf) {
  size_t n = std::min(buf.size(), data_.size() - offset_);
  std::memcpy(buf.data(), data_.data() + offset_, n);
  offset_ += n;
  return n;
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string_view> Request::QueryParam(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string Request::MediaType() const {
  auto ct = headers.Get("Content-Type");
  if (!ct) return "";
  std::string_view v = *ct;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string_view> Request::BearerToken() const {
  if (headers.Count("Authorization") != 1) return std::nullopt;
  std::string_view v = *headers.Get("Authorization");
  if (v.size() < 7 || !EqualsIgnoreCase(v.substr(0, 7), "bearer ")) return std::nullopt;
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  return v;
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json");
  r.body = JsonDump(body);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::Error(const Status& status) {
  nlohmann::json j = {{"error", status.error()}, {"error_description", status.message()}};
  Response r = Json(status.http_status(), j);
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

Response Response::NoContent() {
  Response r;
  r.status = 204;
  return r;
}

}  // namespace portico::http

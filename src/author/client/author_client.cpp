#include "author/client/author_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "core/json.h"

namespace portico::author {
namespace {

using nlohmann::json;

// Streams a file from disk in pieces.
class FileBodySource final : public http::BodySource {
 public:
  explicit FileBodySource(int fd) : fd_(fd) {}
  ~FileBodySource() override { ::close(fd_); }
  StatusOr<size_t> Read(std::span<char> buf) override {
    while (true) {
      ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Internal("cannot read the file being uploaded");
    }
  }

 private:
  int fd_;
};

StatusOr<json> JsonOf(const http::ClientResponse& r) {
  PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(r));
  if (r.status == 204) return json::object();
  json j = r.Json();
  if (j.is_null()) return Internal("the author answered something that is not JSON");
  return j;
}

}  // namespace

AuthorClient::AuthorClient(std::string base_url, http::ClientOptions options)
    : base_url_(std::move(base_url)), http_(options) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::string AuthorClient::PathUrl(std::string_view prefix, std::string_view dam_path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out(prefix);
  if (!dam_path.empty() && dam_path.front() != '/') out += '/';
  for (unsigned char c : dam_path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

StatusOr<http::ClientResponse> AuthorClient::Raw(http::ClientRequest req) {
  req.url = base_url_ + req.url;
  if (!token_.empty()) req.headers.Set("Authorization", "Bearer " + token_);
  req.headers.Set("Accept", "application/json");
  return http_.Send(req);
}

StatusOr<json> AuthorClient::Call(const std::string& method, const std::string& path,
                                  const std::optional<json>& body) {
  http::ClientRequest req;
  req.method = method;
  req.url = path;
  if (body) {
    req.headers.Set("Content-Type", "application/json");
    req.body = JsonDump(*body);
  }
  PORTICO_ASSIGN_OR_RETURN(auto r, Raw(std::move(req)));
  return JsonOf(r);
}

StatusOr<json> AuthorClient::CreateFolder(const std::string& path, bool parents) {
  return Call("POST", PathUrl("/api/v1/folders", path) + (parents ? "?parents=true" : ""));
}

StatusOr<json> AuthorClient::ListFolder(const std::string& path, int limit,
                                        const std::string& cursor) {
  std::string url = PathUrl("/api/v1/folders", path);
  std::vector<std::pair<std::string, std::string>> q;
  if (limit > 0) q.emplace_back("limit", std::to_string(limit));
  if (!cursor.empty()) q.emplace_back("cursor", cursor);
  if (!q.empty()) url += "?" + http::EncodeForm(q);
  return Call("GET", url);
}

StatusOr<json> AuthorClient::ListFolderAll(const std::string& path) {
  json all = json::array();
  std::string cursor;
  do {
    PORTICO_ASSIGN_OR_RETURN(json page, ListFolder(path, 1000, cursor));
    for (auto& c : page["children"]) all.push_back(std::move(c));
    cursor = page["next_cursor"].is_string() ? page["next_cursor"].get<std::string>() : "";
  } while (!cursor.empty());
  return all;
}

StatusOr<json> AuthorClient::UploadFile(const std::filesystem::path& file, const std::string& path,
                                        bool parents) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + file.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(file.string() + " is not a regular file");
  }
  FileBodySource source(fd);
  http::ClientRequest req;
  req.method = "PUT";
  req.url = PathUrl("/api/v1/assets", path) + (parents ? "?parents=true" : "");
  req.headers.Set("Content-Type", "application/octet-stream");
  req.body_source = &source;
  req.body_length = static_cast<uint64_t>(st.st_size);
  PORTICO_ASSIGN_OR_RETURN(auto r, Raw(std::move(req)));
  return JsonOf(r);
}

StatusOr<json> AuthorClient::UploadBytes(const std::string& path, std::string bytes, bool parents) {
  http::ClientRequest req;
  req.method = "PUT";
  req.url = PathUrl("/api/v1/assets", path) + (parents ? "?parents=true" : "");
  req.headers.Set("Content-Type", "application/octet-stream");
  req.body = std::move(bytes);
  PORTICO_ASSIGN_OR_RETURN(auto r, Raw(std::move(req)));
  return JsonOf(r);
}

StatusOr<json> AuthorClient::GetAsset(const std::string& path) {
  return Call("GET", PathUrl("/api/v1/assets", path));
}

Status AuthorClient::Download(const std::string& path,
                              const std::function<Status(std::string_view)>& sink) {
  http::ClientRequest req;
  req.url = base_url_ + PathUrl("/api/v1/download", path);
  if (!token_.empty()) req.headers.Set("Authorization", "Bearer " + token_);
  auto r = http_.Send(req, [&](std::string_view piece) -> Status { return sink(piece); });
  if (!r.ok()) return r.status();
  return http::StatusFromResponse(*r);
}

StatusOr<json> AuthorClient::CreateImsConfig(const std::string& alias,
                                             const std::string& solution) {
  return Call("POST", "/api/v1/integration/ims", json{{"alias", alias}, {"solution", solution}});
}
StatusOr<json> AuthorClient::GetImsConfig() { return Call("GET", "/api/v1/integration/ims"); }

StatusOr<std::string> AuthorClient::GetCertificatePem() {
  http::ClientRequest req;
  req.url = "/api/v1/integration/ims/certificate";
  PORTICO_ASSIGN_OR_RETURN(auto r, Raw(std::move(req)));
  PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(r));
  return r.body;
}

StatusOr<json> AuthorClient::SetImsAccount(const json& account) {
  return Call("PUT", "/api/v1/integration/ims/account", account);
}
StatusOr<json> AuthorClient::CheckHealth() {
  return Call("POST", "/api/v1/integration/ims/health");
}
StatusOr<json> AuthorClient::RegenerateImsKey() {
  return Call("POST", "/api/v1/integration/ims/regenerate");
}
Status AuthorClient::DeleteImsConfig() {
  return Call("DELETE", "/api/v1/integration/ims").status();
}

StatusOr<json> AuthorClient::CreateCloudService(const std::string& title,
                                                const std::string& tenant_url) {
  return Call("POST", "/api/v1/integration/portal",
              json{{"title", title}, {"tenant_url", tenant_url}});
}
StatusOr<json> AuthorClient::GetCloudService() { return Call("GET", "/api/v1/integration/portal"); }
StatusOr<json> AuthorClient::ListAgents() { return Call("GET", "/api/v1/agents"); }
StatusOr<json> AuthorClient::TestAgent(const std::string& name) {
  return Call("POST", PathUrl("/api/v1/agents", name) + "/test");
}

}  // namespace portico::author

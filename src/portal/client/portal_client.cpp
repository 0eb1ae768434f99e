#include "portal/client/portal_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "core/json.h"

namespace portico::portal {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

PortalEntry EntryFrom(const json& j) {
  PortalEntry e;
  e.path = Str(j, "path");
  e.name = Str(j, "name");
  e.type = Str(j, "type");
  e.title = Str(j, "title");
  e.size = Int(j, "size");
  e.sha256 = Str(j, "sha256");
  e.content_type = Str(j, "content_type");
  e.modified_at = Int(j, "modified_at");
  e.published_at = Int(j, "published_at");
  return e;
}

StatusOr<json> JsonOf(const http::ClientResponse& r) {
  PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(r));
  auto j = ParseStrictJson(r.body, {.max_bytes = 64u << 20, .max_depth = 16});
  if (!j.ok()) return Internal("the portal answered something that is not JSON");
  return *j;
}

// Reads a file in pieces for an upload body.
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

}  // namespace

json PortalEntry::ToJson() const {
  json j = {{"path", path}, {"name", name}, {"type", type}};
  if (type == "asset") {
    j["size"] = size;
    j["sha256"] = sha256;
    j["content_type"] = content_type;
  } else {
    j["size"] = nullptr;
    j["sha256"] = nullptr;
  }
  j["modified_at"] = modified_at;
  return j;
}

std::string EncodePathForUrl(std::string_view path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

PortalClient::PortalClient(std::string base_url, std::string tenant, http::ClientOptions options)
    : base_url_(std::move(base_url)), tenant_(std::move(tenant)), http_(options) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::string PortalClient::TenantUrl() const { return base_url_ + "/t/" + tenant_; }

http::Headers PortalClient::BaseHeaders(bool ingest) const {
  http::Headers h;
  if (!token_.empty()) h.Set("Authorization", "Bearer " + token_);
  if (ingest && !author_id_.empty()) h.Set(std::string(protocol::kAuthorHeader), author_id_);
  return h;
}

std::string PortalClient::PathUrl(std::string_view api, const std::string& path) const {
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  return TenantUrl() + "/api/v1/" + std::string(api) + "/" + EncodePathForUrl(p);
}

StatusOr<json> PortalClient::Call(const std::string& method, const std::string& url,
                                  const std::optional<json>& body, bool ingest) {
  http::ClientRequest req;
  req.method = method;
  req.url = url;
  req.headers = BaseHeaders(ingest);
  if (body) {
    req.headers.Set("Content-Type", "application/json");
    req.body = JsonDump(*body);
  }
  PORTICO_ASSIGN_OR_RETURN(auto resp, http_.Send(req));
  return JsonOf(resp);
}

StatusOr<json> PortalClient::CreateTenant(const std::string& tenant, const std::string& alias) {
  json body = {{"tenant", tenant}};
  if (!alias.empty()) body["alias"] = alias;
  return Call("POST", base_url_ + "/api/v1/tenants", body, false);
}

StatusOr<json> PortalClient::GetTenant(const std::string& tenant) {
  return Call("GET", base_url_ + "/api/v1/tenants/" + EncodePathForUrl(tenant), std::nullopt,
              false);
}

StatusOr<protocol::HandshakeResponse> PortalClient::Handshake(
    const protocol::HandshakeRequest& request) {
  PORTICO_ASSIGN_OR_RETURN(json j, Call("POST", TenantUrl() + "/api/v1/ingest/handshake",
                                        protocol::ToJson(request), true));
  return protocol::ParseHandshakeResponse(j);
}

StatusOr<protocol::CheckResponse> PortalClient::Check(const protocol::CheckRequest& request) {
  PORTICO_ASSIGN_OR_RETURN(
      json j, Call("POST", TenantUrl() + "/api/v1/ingest/check", protocol::ToJson(request), true));
  return protocol::ParseCheckResponse(j);
}

StatusOr<protocol::BlobReceipt> PortalClient::UploadBlob(const std::string& sha256,
                                                         http::BodySource& source,
                                                         uint64_t length) {
  http::ClientRequest req;
  req.method = "PUT";
  req.url = TenantUrl() + "/api/v1/ingest/blobs/" + EncodePathForUrl(sha256);
  req.headers = BaseHeaders(true);
  req.headers.Set("Content-Type", "application/octet-stream");
  req.body_source = &source;
  req.body_length = length;
  PORTICO_ASSIGN_OR_RETURN(auto resp, http_.Send(req));
  PORTICO_ASSIGN_OR_RETURN(json j, JsonOf(resp));
  return protocol::ParseBlobReceipt(j);
}

StatusOr<protocol::BlobReceipt> PortalClient::UploadFile(const std::string& sha256,
                                                         const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + file.string());
  FileBodySource source(fd);
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return Internal("cannot read the size of " + file.string());
  return UploadBlob(sha256, source, size);
}

StatusOr<protocol::CommitResponse> PortalClient::Commit(const protocol::CommitRequest& request) {
  PORTICO_ASSIGN_OR_RETURN(
      json j, Call("POST", TenantUrl() + "/api/v1/ingest/commit", protocol::ToJson(request), true));
  return protocol::ParseCommitResponse(j);
}

StatusOr<ChildrenListing> PortalClient::ListChildren(const std::string& path, int limit,
                                                     const std::string& cursor) {
  std::string url = PathUrl("children", path);
  std::string sep = "?";
  if (limit > 0) {
    url += sep + "limit=" + std::to_string(limit);
    sep = "&";
  }
  if (!cursor.empty()) url += sep + "cursor=" + EncodePathForUrl(cursor);
  PORTICO_ASSIGN_OR_RETURN(json j, Call("GET", url, std::nullopt, false));
  ChildrenListing out;
  if (j.contains("folder") && j["folder"].is_object()) out.folder = EntryFrom(j["folder"]);
  if (j.contains("entries") && j["entries"].is_array()) {
    for (const auto& e : j["entries"]) out.entries.push_back(EntryFrom(e));
  }
  out.next_cursor = Str(j, "next_cursor");
  return out;
}

StatusOr<std::vector<PortalEntry>> PortalClient::ListAll(const std::string& path) {
  std::vector<PortalEntry> all;
  std::string cursor;
  do {
    PORTICO_ASSIGN_OR_RETURN(ChildrenListing page, ListChildren(path, 1000, cursor));
    for (auto& e : page.entries) all.push_back(std::move(e));
    cursor = page.next_cursor;
  } while (!cursor.empty());
  return all;
}

StatusOr<PortalEntry> PortalClient::GetEntry(const std::string& path) {
  PORTICO_ASSIGN_OR_RETURN(json j, Call("GET", PathUrl("assets", path), std::nullopt, false));
  return EntryFrom(j);
}

StatusOr<DownloadResult> PortalClient::Download(const std::string& path,
                                                const std::function<Status(std::string_view)>& sink,
                                                std::optional<DownloadRange> range) {
  http::ClientRequest req;
  req.url = PathUrl("download", path);
  req.headers = BaseHeaders(false);
  if (range) {
    req.headers.Set("Range", "bytes=" + std::to_string(range->first) + "-" +
                                 (range->last ? std::to_string(*range->last) : ""));
  }
  DownloadResult out;
  // The client's sink does not see the status, and error answers are small JSON: hold back the
  // first kHeld bytes, and stream once more than that arrived (only a 2xx body is that large).
  constexpr size_t kHeld = 64 * 1024;
  std::string held;
  bool streaming = false;
  int64_t bytes = 0;
  auto piece = [&](std::string_view data) -> Status {
    if (!streaming) {
      held.append(data);
      if (held.size() <= kHeld) return Status::Ok();
      streaming = true;
      data = held;
    }
    bytes += static_cast<int64_t>(data.size());
    Status st = sink(data);
    held.clear();
    return st;
  };
  PORTICO_ASSIGN_OR_RETURN(auto resp, http_.Send(req, piece));
  if (resp.status != 200 && resp.status != 206) {
    resp.body = held;
    PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(resp));
    return Internal("the portal answered HTTP " + std::to_string(resp.status));
  }
  if (!streaming && !held.empty()) {
    bytes += static_cast<int64_t>(held.size());
    PORTICO_RETURN_IF_ERROR(sink(held));
  }
  out.status = resp.status;
  out.bytes = bytes;
  out.etag = std::string(resp.headers.Get("ETag").value_or(""));
  out.content_range = std::string(resp.headers.Get("Content-Range").value_or(""));
  out.content_type = std::string(resp.headers.Get("Content-Type").value_or(""));
  return out;
}

StatusOr<DownloadResult> PortalClient::DownloadToFile(const std::string& path,
                                                      const std::filesystem::path& file) {
  std::filesystem::path tmp = file;
  tmp += ".part-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return InvalidArgument("cannot write " + file.string());
  auto result = Download(path, [fd](std::string_view data) -> Status {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Internal("cannot write the downloaded file");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  });
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!result.ok() || !synced || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    if (!result.ok()) return result.status();
    return Internal("cannot write " + file.string());
  }
  return result;
}

}  // namespace portico::portal

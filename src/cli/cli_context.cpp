#include "cli/cli_context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/json.h"

namespace portico::cli {

CliContext::CliContext(GlobalFlags flags) : flags_(std::move(flags)) {
  if (flags_.data.empty()) {
    if (const char* d = std::getenv("PORTICO_DATA")) flags_.data = d;
  }
}

std::optional<nlohmann::json> CliContext::PorticoJson() const {
  if (flags_.data.empty()) return std::nullopt;
  auto text = ReadFile(std::filesystem::path(flags_.data) / "portico.json");
  if (!text.ok()) return std::nullopt;
  auto j = ParseStrictJson(*text);
  if (!j.ok() || !j->is_object()) return std::nullopt;
  return *j;
}

std::string CliContext::Pick(const std::string& flag, const char* env, const char* json_key) const {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv(env); e && *e) return e;
  auto pj = PorticoJson();
  if (!pj) return "";
  const nlohmann::json* node = &*pj;
  std::string key(json_key);
  if (key.rfind("admin.", 0) == 0) {
    if (!pj->contains("admin") || !(*pj)["admin"].is_object()) return "";
    node = &(*pj)["admin"];
    key = key.substr(6);
  }
  if (node->contains(key) && (*node)[key].is_string()) return (*node)[key].get<std::string>();
  return "";
}

StatusOr<std::string> CliContext::ImsUrl() const {
  std::string url = Pick(flags_.ims, "PORTICO_IMS", "ims");
  if (url.empty())
    return InvalidArgument(
        "no identity service: give --ims URL, set PORTICO_IMS, or --data DIR of 'portico up'");
  return url;
}

StatusOr<std::string> CliContext::PortalUrl() const {
  std::string url = Pick(flags_.portal, "PORTICO_PORTAL", "portal");
  if (url.empty())
    return InvalidArgument(
        "no portal: give --portal URL, set PORTICO_PORTAL, or --data DIR of 'portico up'");
  return url;
}

StatusOr<std::string> CliContext::Tenant() const {
  std::string tenant = Pick(flags_.tenant, "PORTICO_TENANT", "tenant");
  if (tenant.empty())
    return InvalidArgument(
        "no tenant: give --tenant ID, set PORTICO_TENANT, or --data DIR of 'portico up'");
  return tenant;
}

StatusOr<std::string> CliContext::Org(ims::ImsClient& client) const {
  std::string org = Pick(flags_.org, "PORTICO_ORG", "org");
  if (!org.empty()) return org;
  PORTICO_ASSIGN_OR_RETURN(auto me, client.Me());
  return me.value("org_id", "");
}

StatusOr<std::unique_ptr<ims::ImsClient>> CliContext::AdminClient() const { return LogIn(nullptr); }

StatusOr<std::string> CliContext::AuthorUrl() const {
  std::string url = Pick(flags_.author, "PORTICO_AUTHOR", "author");
  if (url.empty())
    return InvalidArgument(
        "no author service: give --author URL, set PORTICO_AUTHOR, or --data DIR of 'portico up'");
  return url;
}

StatusOr<std::string> CliContext::AdminToken() const {
  std::string token;
  PORTICO_RETURN_IF_ERROR(LogIn(&token).status());
  return token;
}

StatusOr<std::pair<std::string, std::string>> CliContext::Login() const {
  std::string login = Pick(flags_.login, "PORTICO_LOGIN", "admin.login");
  std::string password = Pick(flags_.password, "PORTICO_PASSWORD", "admin.password");
  if (login.empty() || password.empty()) {
    return InvalidArgument(
        "no admin login: give --login and --password, set PORTICO_LOGIN and PORTICO_PASSWORD, "
        "or --data DIR of 'portico up'");
  }
  return std::pair{login, password};
}

StatusOr<std::unique_ptr<ims::ImsClient>> CliContext::LogIn(std::string* token) const {
  PORTICO_ASSIGN_OR_RETURN(std::string url, ImsUrl());
  auto client = std::make_unique<ims::ImsClient>(url);
  std::string login = Pick(flags_.login, "PORTICO_LOGIN", "admin.login");
  std::string password = Pick(flags_.password, "PORTICO_PASSWORD", "admin.password");
  std::filesystem::path cache;
  if (!flags_.data.empty()) cache = std::filesystem::path(flags_.data) / ".cli-token";
  if (!cache.empty()) {
    auto text = ReadFile(cache);
    if (text.ok()) {
      auto j = ParseStrictJson(*text);
      if (j.ok() && j->is_object() && j->value("ims", "") == url &&
          j->value("login", "") == login &&
          j->value("expires_at", int64_t{0}) > std::time(nullptr) + 60) {
        client->SetToken(j->value("access_token", ""));
        if (token) *token = j->value("access_token", "");
        // The cached token is checked at the identity service; when that service cannot be
        // reached, it is used anyway (the author and portal verify tokens offline), so commands
        // against them keep working while the identity service is down.
        auto me = client->Me();
        if (me.ok() || me.status().code() == Code::kUnavailable) return client;
      }
    }
  }
  if (login.empty() || password.empty()) {
    return InvalidArgument(
        "no admin login: give --login and --password, set PORTICO_LOGIN and PORTICO_PASSWORD, "
        "or --data DIR of 'portico up'");
  }
  PORTICO_ASSIGN_OR_RETURN(auto answer, client->Login(login, password));
  if (token) *token = answer.value("access_token", "");
  if (!cache.empty()) {
    nlohmann::json entry = {
        {"ims", url},
        {"login", login},
        {"access_token", answer["access_token"]},
        {"expires_at", std::time(nullptr) + answer.value("expires_in", int64_t{0})}};
    (void)WriteFileAtomically(cache, JsonDump(entry), 0600);
  }
  return client;
}

int CliContext::Print(const nlohmann::json& result, const std::string& text) const {
  if (flags_.json) {
    std::cout << result.dump(2) << "\n";
  } else if (!text.empty()) {
    std::cout << text << (text.back() == '\n' ? "" : "\n");
  }
  return 0;
}

int CliContext::Fail(const Status& st) const {
  if (flags_.json) {
    std::cout << nlohmann::json{{"error", st.error()}, {"error_description", st.message()}}.dump(2)
              << "\n";
  } else {
    std::cerr << "portico: " << st.message() << " (" << st.error() << ")\n";
  }
  return 1;
}

Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content,
                           int mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Internal("cannot write " + path.string());
  ::fchmod(fd, static_cast<mode_t>(mode));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return Internal("cannot write " + path.string());
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Internal("cannot write " + path.string());
  }
  return Status::Ok();
}

StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path.string());
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > max_bytes) return InvalidArgument(path.string() + " is too large");
  }
  return out;
}

}  // namespace portico::cli

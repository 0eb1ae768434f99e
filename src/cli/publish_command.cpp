// `portico publish PATH... [--later TIME] [--wait]`, `portico unpublish PATH... [--wait]`,
// `portico publish status [ID]` and `portico publish retry ID [--item ID]`: clients of the
// author's /api/v1/publish routes (author/publish/publish_api.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/http/client.h"
#include "core/json.h"

namespace portico::cli {
namespace {

using nlohmann::json;

// Calls the author's publish API with the admin's token.
class PublishApi {
 public:
  PublishApi(std::string author_url, std::string token)
      : base_(std::move(author_url)), token_(std::move(token)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }
  StatusOr<json> Call(const std::string& method, const std::string& path,
                      const std::optional<json>& body = std::nullopt) {
    http::ClientRequest req;
    req.method = method;
    req.url = base_ + path;
    req.headers.Set("Authorization", "Bearer " + token_);
    if (body) {
      req.headers.Set("Content-Type", "application/json");
      req.body = body->dump();
    }
    PORTICO_ASSIGN_OR_RETURN(auto resp, http_.Send(req));
    PORTICO_RETURN_IF_ERROR(http::StatusFromResponse(resp));
    json j = resp.Json();
    if (j.is_null()) return Internal("the author answered something that is not JSON");
    return j;
  }

 private:
  std::string base_;
  std::string token_;
  http::HttpClient http_;
};

// "at" for --later: Unix seconds, RFC 3339 text (passed on), or +N[s|m|h|d] from now.
StatusOr<json> LaterTime(const std::string& later) {
  if (later.empty()) return InvalidArgument("--later needs a time");
  if (later[0] == '+') {
    char unit = later.back();
    std::string digits = later.substr(
        1, std::isdigit(static_cast<unsigned char>(unit)) ? std::string::npos : later.size() - 2);
    int64_t n = 0;
    try {
      size_t used = 0;
      n = std::stoll(digits, &used);
      if (used != digits.size() || n < 0) throw std::invalid_argument("");
    } catch (...) {
      return InvalidArgument("--later +N takes N seconds, or Ns, Nm, Nh, Nd");
    }
    int64_t mult = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 1;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return json(now + n * mult);
  }
  if (later.find_first_not_of("0123456789") == std::string::npos) {
    try {
      return json(std::stoll(later));
    } catch (...) {
      return InvalidArgument("--later: the Unix time is out of range");
    }
  }
  return json(later);
}

// Draws "[####......] 12/50 delivered" on stderr.
void DrawProgress(const json& status) {
  int64_t total = status["totals"].value("total", 0);
  int64_t delivered = status["totals"].value("delivered", 0);
  int64_t settled =
      delivered + status["totals"].value("parked", 0) + status["totals"].value("failed", 0);
  constexpr int kWidth = 30;
  int filled = total > 0 ? static_cast<int>(settled * kWidth / total) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r[%s] %lld/%lld delivered", bar.c_str(), static_cast<long long>(delivered),
               static_cast<long long>(total));
  std::fflush(stderr);
}

// Polls the request's totals (?items=false: no item list, cheap for the author) until every
// item is delivered, parked or failed, then fetches the whole status, items included, once.
StatusOr<json> Wait(PublishApi& api, int64_t id, bool progress) {
  const std::string path = "/api/v1/publish/" + std::to_string(id);
  auto pause = std::chrono::milliseconds(100);
  while (true) {
    PORTICO_ASSIGN_OR_RETURN(json s, api.Call("GET", path + "?items=false"));
    if (progress) DrawProgress(s);
    if (s.value("done", false)) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
  PORTICO_ASSIGN_OR_RETURN(json s, api.Call("GET", path));
  if (progress) {
    DrawProgress(s);
    std::fputc('\n', stderr);
  }
  return s;
}

// The SPEC §7 result of --wait --json.
json WaitResult(const json& s) {
  json items = json::array();
  for (const auto& i : s["items"]) {
    items.push_back({{"path", i["path"]}, {"state", i["state"]}});
  }
  return {{"items", items}, {"blobs_sent", s["blobs_sent"]}, {"bytes_sent", s["bytes_sent"]}};
}

std::string StatusText(const json& s) {
  std::string out = "request " + std::to_string(s.value("id", 0)) + " (" + s.value("action", "") +
                    ", " + s.value("state", "") + "): ";
  for (const auto& [k, v] : s["totals"].items()) {
    if (k != "total") out += k + " " + std::to_string(v.get<int64_t>()) + ", ";
  }
  out += "total " + std::to_string(s["totals"].value("total", 0)) + "; " +
         std::to_string(s.value("blobs_sent", 0)) + " blobs, " +
         std::to_string(s.value("bytes_sent", 0)) + " bytes sent";
  for (const auto& i : s["items"]) {
    if (i["state"] == "delivered") continue;
    out += "\n  " + i.value("path", "") + ": " + i.value("state", "");
    if (i["last_error"].is_string()) out += " (" + i["last_error"].get<std::string>() + ")";
  }
  return out;
}

template <typename Fn>
int WithApi(const GlobalFlags& flags, Fn fn) {
  CliContext ctx(flags);
  auto url = ctx.AuthorUrl();
  if (!url.ok()) return ctx.Fail(url.status());
  auto token = ctx.AdminToken();
  if (!token.ok()) return ctx.Fail(token.status());
  PublishApi api(*url, *token);
  return fn(ctx, api);
}

struct PublishArgs {
  std::vector<std::string> paths;
  std::string later;
  bool wait = false;
};

int RunPublish(const GlobalFlags& flags, const PublishArgs& args, const char* action) {
  return WithApi(flags, [&](CliContext& ctx, PublishApi& api) {
    json body = {{"paths", args.paths}, {"action", action}};
    if (!args.later.empty()) {
      auto at = LaterTime(args.later);
      if (!at.ok()) return ctx.Fail(at.status());
      body["at"] = *at;
    }
    auto r = api.Call("POST", "/api/v1/publish", body);
    if (!r.ok()) return ctx.Fail(r.status());
    const int64_t id = r->value("id", 0);
    if (!args.wait) {
      return ctx.Print(*r, std::string(action) + " request " + std::to_string(id) + " " +
                               r->value("state", "") + " (portico publish status " +
                               std::to_string(id) + ")");
    }
    auto s = Wait(api, id, !ctx.json() && ::isatty(STDERR_FILENO));
    if (!s.ok()) return ctx.Fail(s.status());
    int code = ctx.Print(WaitResult(*s), StatusText(*s));
    return code;
  });
}

}  // namespace

void AddPublishCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto args = std::make_shared<PublishArgs>();
  auto* publish = app.add_subcommand("publish", "Publish folders and assets to the portal");
  publish->add_option("paths", args->paths, "DAM paths of folders or assets");
  publish->add_option("--later", args->later,
                      "Start at TIME: RFC 3339, Unix seconds, or +N[s|m|h|d] from now");
  publish->add_flag("--wait", args->wait, "Wait until every item is delivered or parked");

  auto status_id = std::make_shared<int64_t>(0);
  auto* status = publish->add_subcommand("status", "A publish request's items, or the recent ones");
  status->add_option("id", *status_id, "The request id (default: list recent requests)");
  status->callback([&flags, &exit_code, status_id] {
    exit_code = WithApi(flags, [&](CliContext& ctx, PublishApi& api) {
      if (*status_id <= 0) {
        auto r = api.Call("GET", "/api/v1/publish?limit=20");
        if (!r.ok()) return ctx.Fail(r.status());
        std::string text;
        for (const auto& q : (*r)["requests"]) {
          text += std::to_string(q.value("id", 0)) + "  " + q.value("action", "") + "  " +
                  q.value("state", "") + "  " + q["paths"].dump() + "\n";
        }
        if (text.empty()) text = "no publish requests\n";
        text.pop_back();
        return ctx.Print(*r, text);
      }
      auto r = api.Call("GET", "/api/v1/publish/" + std::to_string(*status_id));
      if (!r.ok()) return ctx.Fail(r.status());
      return ctx.Print(*r, StatusText(*r));
    });
  });

  auto retry_id = std::make_shared<int64_t>(0);
  auto retry_item = std::make_shared<int64_t>(0);
  auto* retry = publish->add_subcommand("retry", "Queue the parked items of a request again");
  retry->add_option("id", *retry_id, "The request id")->required();
  retry->add_option("--item", *retry_item, "Only this item");
  retry->callback([&flags, &exit_code, retry_id, retry_item] {
    exit_code = WithApi(flags, [&](CliContext& ctx, PublishApi& api) {
      std::optional<json> body;
      if (*retry_item > 0) body = json{{"item", *retry_item}};
      auto r = api.Call("POST", "/api/v1/publish/" + std::to_string(*retry_id) + "/retry", body);
      if (!r.ok()) return ctx.Fail(r.status());
      return ctx.Print(*r, std::to_string(r->value("retried", 0)) + " item(s) queued again");
    });
  });

  publish->callback([&flags, &exit_code, args, status, retry] {
    if (status->parsed() || retry->parsed()) return;
    if (args->paths.empty()) {
      exit_code = CliContext(flags).Fail(InvalidArgument("name at least one path to publish"));
      return;
    }
    exit_code = RunPublish(flags, *args, "publish");
  });

  auto unargs = std::make_shared<PublishArgs>();
  auto* unpublish = app.add_subcommand("unpublish", "Take folders and assets back from the portal");
  unpublish->add_option("paths", unargs->paths, "DAM paths of folders or assets")->required();
  unpublish->add_option("--later", unargs->later, "Start at TIME (as for publish)");
  unpublish->add_flag("--wait", unargs->wait, "Wait until every item is delivered or parked");
  unpublish->callback(
      [&flags, &exit_code, unargs] { exit_code = RunPublish(flags, *unargs, "unpublish"); });
}

}  // namespace portico::cli

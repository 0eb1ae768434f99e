#include "author/publish/publish_api.h"

#include <cctype>
#include <charconv>
#include <ctime>

#include "author/api/json_body.h"

namespace portico::author::publish {
namespace {

using http::Request;
using http::Response;
using nlohmann::json;

json Seconds(std::optional<int64_t> ms) {
  if (!ms) return nullptr;
  return *ms / 1000;
}

std::optional<int> Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

StatusOr<int64_t> RequestId(const Request& req) {
  std::string_view s = req.PathParam("id");
  int64_t id = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || p != s.data() + s.size() || id <= 0) {
    return Status(Code::kNotFound, "unknown_request",
                  "there is no publish request " + std::string(s));
  }
  return id;
}

}  // namespace

std::optional<int64_t> ParsePublishTime(const json& at) {
  if (at.is_number_integer()) {
    int64_t s = at.get<int64_t>();
    if (s < 0 || s > 253402300799) return std::nullopt;  // up to year 9999
    return s * 1000;
  }
  if (!at.is_string()) return std::nullopt;
  const std::string s = at.get<std::string>();
  auto Y = Digits(s, 0, 4), M = Digits(s, 5, 2), D = Digits(s, 8, 2), h = Digits(s, 11, 2),
       m = Digits(s, 14, 2), sec = Digits(s, 17, 2);
  if (!Y || !M || !D || !h || !m || !sec || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  if (*M < 1 || *M > 12 || *D < 1 || *D > 31 || *h > 23 || *m > 59 || *sec > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 3; ++d) millis *= 10;
  }
  int offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
    if (!oh || !om || s[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *Y - 1900;
  tm.tm_mon = *M - 1;
  tm.tm_mday = *D;
  tm.tm_hour = *h;
  tm.tm_min = *m;
  tm.tm_sec = *sec;
  int64_t t = static_cast<int64_t>(::timegm(&tm)) - offset_s;
  if (t < 0) return std::nullopt;
  return t * 1000 + millis;
}

json RequestJson(const RequestRecord& r) {
  json j = {{"id", r.id},
            {"action", std::string(PublishActionName(r.action))},
            {"paths", r.paths},
            {"state", r.state},
            {"run_at", r.run_at_ms / 1000},
            {"seq", r.seq},
            {"created_at", r.created_ms / 1000},
            {"started_at", Seconds(r.started_ms)},
            {"blobs_sent", r.blobs_sent},
            {"bytes_sent", r.bytes_sent}};
  if (r.error) j["error"] = *r.error;
  return j;
}

json StatusJson(const RequestStatus& s, bool with_items) {
  json j = RequestJson(s.request);
  j["totals"] = s.totals;
  j["done"] = s.done;
  if (!with_items) return j;
  json items = json::array();
  for (const auto& i : s.items) {
    json item = {{"id", i.id},       {"path", i.path},        {"kind", i.kind},
                 {"agent", i.agent}, {"state", i.state},      {"attempts", i.attempts},
                 {"size", i.size},   {"last_error", nullptr}, {"next_attempt_at", nullptr}};
    if (!i.sha256.empty()) item["sha256"] = i.sha256;
    if (i.last_error) item["last_error"] = *i.last_error;
    if (i.next_attempt_ms) item["next_attempt_at"] = *i.next_attempt_ms / 1000;
    items.push_back(std::move(item));
  }
  j["items"] = std::move(items);
  return j;
}

void AddPublishRoutes(http::Router& router, const PublishApiDeps& d) {
  auto authed = [d](auto fn) {
    return [d, fn](Request& req) -> Response {
      auto who = d.guard->Check(req);
      if (!who.ok()) return Response::Error(who.status());
      return fn(req);
    };
  };
  auto opts = [](const char* summary) {
    return http::RouteOptions{.max_body_bytes = 1 << 20, .summary = summary, .auth = "bearer"};
  };

  router.Add(
      "POST", "/api/v1/publish", authed([d](Request& req) {
        auto body = ReadJsonObject(req, 1 << 20);
        if (!body.ok()) return Response::Error(body.status());
        for (const auto& [k, v] : body->items()) {
          if (k != "paths" && k != "action" && k != "at") {
            return Response::Error(InvalidArgument("unknown member " + k));
          }
        }
        auto paths_it = body->find("paths");
        if (paths_it == body->end() || !paths_it->is_array() || paths_it->empty()) {
          return Response::Error(InvalidArgument("paths must be a non-empty array"));
        }
        std::vector<std::string> paths;
        for (const auto& p : *paths_it) {
          if (!p.is_string()) {
            return Response::Error(InvalidArgument("every path must be a string"));
          }
          paths.push_back(p.get<std::string>());
        }
        PublishAction action = PublishAction::kPublish;
        if (auto a = body->find("action"); a != body->end()) {
          if (*a == "unpublish") {
            action = PublishAction::kUnpublish;
          } else if (*a != "publish") {
            return Response::Error(InvalidArgument("action must be \"publish\" or \"unpublish\""));
          }
        }
        std::optional<int64_t> at;
        if (auto a = body->find("at"); a != body->end() && !a->is_null()) {
          at = ParsePublishTime(*a);
          if (!at) {
            return Response::Error(
                InvalidArgument("at must be RFC 3339 (2030-01-02T03:04:05Z) or Unix seconds"));
          }
        }
        auto r = d.service->Publish(paths, action, at);
        if (!r.ok()) return Response::Error(r.status());
        return Response::Json(202, RequestJson(*r));
      }),
      opts("Publish or unpublish folders and assets, now or later"));

  router.Add("GET", "/api/v1/publish", authed([d](Request& req) {
               int limit = 20;
               if (auto q = req.QueryParam("limit")) {
                 auto [p, ec] = std::from_chars(q->data(), q->data() + q->size(), limit);
                 if (ec != std::errc() || p != q->data() + q->size() || limit < 1 || limit > 1000) {
                   return Response::Error(InvalidArgument("limit must be 1 to 1000"));
                 }
               }
               auto list = d.service->List(limit);
               if (!list.ok()) return Response::Error(list.status());
               json out = json::array();
               for (const auto& r : *list) out.push_back(RequestJson(r));
               return Response::Json(200, json{{"requests", out}});
             }),
             opts("Recent publish requests"));

  router.Add("GET", "/api/v1/publish/{id}", authed([d](Request& req) {
               auto id = RequestId(req);
               if (!id.ok()) return Response::Error(id.status());
               bool with_items = true;
               if (auto q = req.QueryParam("items")) {
                 if (*q == "false") {
                   with_items = false;
                 } else if (*q != "true") {
                   return Response::Error(InvalidArgument("items must be true or false"));
                 }
               }
               auto s = d.service->GetStatus(*id, with_items);
               if (!s.ok()) return Response::Error(s.status());
               return Response::Json(200, StatusJson(*s, with_items));
             }),
             opts("A publish request with the state of every item (?items=false: totals only)"));

  router.Add("POST", "/api/v1/publish/{id}/retry", authed([d](Request& req) {
               auto id = RequestId(req);
               if (!id.ok()) return Response::Error(id.status());
               std::optional<int64_t> item;
               if (req.content_length.value_or(0) > 0) {
                 auto body = ReadJsonObject(req);
                 if (!body.ok()) return Response::Error(body.status());
                 if (auto it = body->find("item"); it != body->end()) {
                   if (!it->is_number_integer()) {
                     return Response::Error(InvalidArgument("item must be an item id"));
                   }
                   item = it->get<int64_t>();
                 }
               }
               if (item) {
                 Status st = d.service->RetryItem(*item);
                 if (!st.ok()) return Response::Error(st);
                 return Response::Json(200, json{{"retried", 1}});
               }
               auto n = d.service->RetryRequest(*id);
               if (!n.ok()) return Response::Error(n.status());
               return Response::Json(200, json{{"retried", *n}});
             }),
             opts("Queue the parked items of a publish request again"));
}

}  // namespace portico::author::publish

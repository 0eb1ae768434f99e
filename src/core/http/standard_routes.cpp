#include "core/http/standard_routes.h"

#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/json.h"

namespace portico::http {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

nlohmann::json BuildOpenApi(const std::vector<Route>& routes, const std::string& title) {
  nlohmann::json error = {
      {"type", "object"},
      {"required", {"error", "error_description"}},
      {"properties",
       {{"error", {{"type", "string"}}}, {"error_description", {{"type", "string"}}}}}};
  nlohmann::json doc = {
      {"openapi", "3.0.3"},
      {"info", {{"title", title}, {"version", "1"}}},
      {"components",
       {{"schemas", {{"Error", error}}},
        {"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}}},
      {"paths", nlohmann::json::object()},
  };
  for (const auto& route : routes) {
    std::string path;
    for (const auto& seg : route.segments) {
      std::string s = seg;
      if (s.size() > 3 && s[s.size() - 2] == '*') s = "{" + s.substr(1, s.size() - 3) + "}";
      path += "/" + s;
    }
    nlohmann::json op = {
        {"summary", route.options.summary.empty() ? route.pattern : route.options.summary},
        {"operationId", route.method + " " + route.pattern}};
    nlohmann::json params = nlohmann::json::array();
    for (const auto& seg : route.segments) {
      if (seg.size() > 2 && seg.front() == '{') {
        std::string name = seg.substr(1, seg.size() - 2);
        if (!name.empty() && name.back() == '*') name.pop_back();
        params.push_back(
            {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
      }
    }
    if (!params.empty()) op["parameters"] = params;
    if (route.options.auth == "bearer") op["security"] = {{{"bearer", nlohmann::json::array()}}};
    nlohmann::json error_content = {
        {"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}};
    op["responses"] = {{"200", {{"description", "success"}}},
                       {"4XX", {{"description", "client error"}, {"content", error_content}}}};
    doc["paths"][path][Lower(route.method)] = op;
  }
  return doc;
}

}  // namespace

void AddStandardRoutes(Router& router, Metrics* metrics, std::function<Status()> ready_check,
                       const std::string& title) {
  router.Add("GET", "/healthz",
             [](Request&) {
               return Response::Json(200, {{"status", "ok"}});
             },
             {.summary = "The process is up"});
  router.Add("GET", "/readyz",
             [check = std::move(ready_check)](Request&) {
               Status st = check ? check() : Status::Ok();
               if (!st.ok()) {
                 return Response::Json(503, {{"status", "not_ready"},
                                             {"error", st.error()},
                                             {"error_description", st.message()}});
               }
               return Response::Json(200, {{"status", "ready"}});
             },
             {.summary = "The service can serve requests"});
  router.Add("GET", "/metrics",
             [metrics](Request&) {
               return Response::Text(200, metrics ? metrics->Render() : "",
                                     "text/plain; version=0.0.4");
             },
             {.summary = "Prometheus metrics"});
  // Built lazily on first request, once every route is registered.
  auto cached = std::make_shared<std::string>();
  auto once = std::make_shared<std::once_flag>();
  std::weak_ptr<const std::vector<Route>> r = router.shared_routes();  // weak: no cycle
  router.Add("GET", "/openapi.json",
             [cached, once, r, title](Request&) {
               std::call_once(*once, [&] {
                 if (auto routes = r.lock()) *cached = JsonDump(BuildOpenApi(*routes, title));
               });
               return Response::Text(200, *cached, "application/json");
             },
             {.summary = "This OpenAPI document"});
}

}  // namespace portico::http

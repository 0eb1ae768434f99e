#include <cctype>
#include <tuple>

#include <nlohmann/json.hpp>

#include "author/api/author_api.h"
#include "author/api/json_body.h"
#include "core/json.h"

namespace portico::author {
namespace {

using http::Request;
using http::Response;
using nlohmann::json;

json ImsJson(const ImsConfigView& v) {
  return {{"alias", v.alias},
          {"solution", v.solution},
          {"certificate",
           {{"fingerprint_sha256", v.certificate_fingerprint},
            {"not_after", v.certificate_not_after},
            {"generation", v.key_generation}}},
          {"account_configured", v.account_configured},
          {"title", v.title},
          {"authorization_server", v.authorization_server},
          {"client_id", v.client_id},
          {"jwt_payload", v.jwt_payload},
          {"created_at", v.created_at},
          {"updated_at", v.updated_at}};
}

json CloudJson(const CloudServiceRecord& c) {
  return {{"title", c.title},
          {"tenant_url", c.tenant_url},
          {"tenant", c.tenant},
          {"org", c.org},
          {"created_at", c.created_at}};
}

json AgentJson(const AgentRecord& a) {
  json last = nullptr;
  if (a.last_test_at) {
    last = {{"at", *a.last_test_at},
            {"ok", a.last_test_ok.value_or(false)},
            {"message", a.last_test_message}};
  }
  return {{"name", a.name}, {"state", a.state}, {"last_test", last}};
}

json TestJson(const AgentTestResult& r) {
  json j = {{"agent", r.agent}, {"ok", r.ok}, {"message", r.message}};
  if (!r.ok) j["step"] = r.step;
  return j;
}

}  // namespace

void AddIntegrationRoutes(http::Router& router, const AuthorApiDeps& d) {
  auto authed = [d](auto fn) {
    return [d, fn](Request& req) -> Response {
      auto who = d.guard->Check(req);
      if (!who.ok()) return Response::Error(who.status());
      return fn(req);
    };
  };
  auto opts = [](const char* summary) {
    return http::RouteOptions{.max_body_bytes = 64 * 1024, .summary = summary, .auth = "bearer"};
  };
  auto view = [](const StatusOr<ImsConfigView>& v, int status = 200) {
    if (!v.ok()) return Response::Error(v.status());
    return Response::Json(status, ImsJson(*v));
  };

  router.Add("POST", "/api/v1/integration/ims", authed([d, view](Request& req) {
               auto body = ReadJsonObject(req);
               if (!body.ok()) return Response::Error(body.status());
               auto alias = StringMember(*body, "alias");
               if (!alias.ok()) return Response::Error(alias.status());
               auto solution = StringMember(*body, "solution", false);
               if (!solution.ok()) return Response::Error(solution.status());
               return view(d.ims->Create(*alias, solution->empty() ? "portal" : *solution), 201);
             }),
             opts("Create the IMS configuration (key pair and self-signed certificate)"));
  router.Add("GET", "/api/v1/integration/ims",
             authed([d, view](Request&) { return view(d.ims->Get()); }),
             opts("The IMS configuration (no secret)"));
  router.Add("DELETE", "/api/v1/integration/ims", authed([d](Request&) {
               Status st = d.ims->Delete();
               return st.ok() ? Response::NoContent() : Response::Error(st);
             }),
             opts("Delete the IMS configuration"));
  router.Add(
      "GET", "/api/v1/integration/ims/certificate", authed([d](Request&) {
        auto pem = d.ims->CertificatePem();
        if (!pem.ok()) return Response::Error(pem.status());
        Response r = Response::Text(200, *pem, "application/x-x509-ca-cert");
        auto cfg = d.ims->Get();
        std::string name = "portico-author";
        if (cfg.ok()) {
          name.clear();
          for (char c : cfg->alias)
            name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
        }
        r.headers.Set("Content-Disposition", "attachment; filename=\"" + name + ".crt\"");
        return r;
      }),
      opts("The public certificate (PEM, .crt) to register in the developer console"));
  router.Add("POST", "/api/v1/integration/ims/regenerate",
             authed([d, view](Request&) { return view(d.ims->Regenerate()); }),
             opts("Make a new key pair and certificate (register the new certificate)"));
  router.Add("PUT", "/api/v1/integration/ims/account", authed([d, view](Request& req) {
               auto body = ReadJsonObject(req);
               if (!body.ok()) return Response::Error(body.status());
               ImsAccount a;
               for (auto [name, field, required] :
                    {std::tuple{"title", &a.title, false},
                     std::tuple{"authorization_server", &a.authorization_server, true},
                     std::tuple{"client_id", &a.client_id, true},
                     std::tuple{"client_secret", &a.client_secret, true}}) {
                 auto v = StringMember(*body, name, required);
                 if (!v.ok()) return Response::Error(v.status());
                 *field = *v;
               }
               auto p = body->find("jwt_payload");
               if (p == body->end())
                 return Response::Error(InvalidArgument("'jwt_payload' is required"));
               if (p->is_string()) {
                 auto parsed = ParseStrictJson(p->get<std::string>(), {.max_bytes = 16 * 1024});
                 if (!parsed.ok())
                   return Response::Error(Status(Code::kInvalidArgument, "invalid_payload",
                                                 "jwt_payload: " + parsed.status().message()));
                 a.jwt_payload = *parsed;
               } else {
                 a.jwt_payload = *p;
               }
               return view(d.ims->SetAccount(a));
             }),
             opts("Set the account: authorization server, client id and secret, JWT payload"));
  router.Add("POST", "/api/v1/integration/ims/health", authed([d](Request&) {
               auto v = d.ims->CheckHealth();
               if (!v.ok()) return Response::Error(v.status());
               json body = {{"ok", v->ok}, {"message", v->message}};
               if (!v->ok) body["cause"] = v->cause;
               return Response::Json(200, body);
             }),
             opts("Check health: obtain a token and say why not"));

  router.Add("POST", "/api/v1/integration/portal", authed([d](Request& req) {
               auto body = ReadJsonObject(req);
               if (!body.ok()) return Response::Error(body.status());
               auto title = StringMember(*body, "title", false);
               if (!title.ok()) return Response::Error(title.status());
               auto url = StringMember(*body, "tenant_url");
               if (!url.ok()) return Response::Error(url.status());
               auto cs = d.portal->Create({*title, *url});
               if (!cs.ok()) return Response::Error(cs.status());
               json j = CloudJson(*cs);
               json agents = json::array();
               if (auto list = d.portal->ListAgents(); list.ok())
                 for (const auto& a : *list) agents.push_back(AgentJson(a));
               j["agents"] = agents;
               return Response::Json(201, j);
             }),
             opts("Create the portal cloud service (handshake with the tenant) and its agents"));
  router.Add("GET", "/api/v1/integration/portal", authed([d](Request&) {
               auto cs = d.portal->Get();
               if (!cs.ok()) return Response::Error(cs.status());
               return Response::Json(200, CloudJson(*cs));
             }),
             opts("The portal cloud service"));
  router.Add("GET", "/api/v1/agents", authed([d](Request&) {
               auto list = d.portal->ListAgents();
               if (!list.ok()) return Response::Error(list.status());
               json a = json::array();
               for (const auto& x : *list) a.push_back(AgentJson(x));
               return Response::Json(200, {{"agents", a}});
             }),
             opts("The publish agents with their last test result"));
  router.Add("POST", "/api/v1/agents/{name}/test", authed([d](Request& req) {
               auto r = d.portal->TestAgent(std::string(req.PathParam("name")));
               if (!r.ok()) return Response::Error(r.status());
               return Response::Json(200, TestJson(*r));
             }),
             opts("Test connection: deliver the test package through this agent"));
}

}  // namespace portico::author

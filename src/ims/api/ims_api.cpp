#include "ims/api/ims_api.h"

#include <nlohmann/json.hpp>

#include "core/crypto/encoding.h"
#include "core/http/form.h"
#include "core/json.h"

namespace portico::ims {
namespace {

using http::Request;
using http::Response;
using http::RouteOptions;
using nlohmann::json;

constexpr size_t kTokenRouteBodyLimit = 1 << 20;  // refused with 413 above this
constexpr size_t kTokenFormLimit = 64 * 1024;     // refused with 400 invalid_request above this
constexpr const char* kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

Response NoStore(Response r) {
  r.headers.Set("Cache-Control", "no-store");
  r.headers.Set("Pragma", "no-cache");
  return r;
}

Response OAuthError(const Status& st) {
  Response r = Response::Error(st);
  if (st.code() == Code::kUnauthenticated && st.error() == "invalid_client") {
    r.headers.Set("WWW-Authenticate", "Basic realm=\"portico\"");
  }
  return r;
}

// A token endpoint's form: either encoding, every parameter at most once.
StatusOr<http::FormFields> ReadTokenForm(Request& req) {
  auto form =
      http::ReadForm(req, {.max_body_bytes = kTokenFormLimit, .max_field_bytes = kTokenFormLimit});
  if (!form.ok()) return OAuthInvalidRequest(form.status().message());
  for (size_t i = 0; i < form->fields.size(); ++i) {
    if (form->Count(form->fields[i].first) > 1) {
      return OAuthInvalidRequest("parameter '" + form->fields[i].first.substr(0, 64) +
                                 "' is repeated");
    }
  }
  return form;
}

std::string Field(const http::FormFields& f, std::string_view name) {
  auto v = f.Get(name);
  return v ? std::string(*v) : std::string();
}

// Client credentials from the form or, for the standard endpoint, from HTTP Basic.
Status ClientAuth(Request& req, const http::FormFields& form, std::string* id,
                  std::string* secret) {
  *id = Field(form, "client_id");
  *secret = Field(form, "client_secret");
  auto authz = req.headers.Get("Authorization");
  if (authz && authz->size() > 6 && http::EqualsIgnoreCase(authz->substr(0, 6), "basic ")) {
    if (!id->empty() && !secret->empty()) {
      return OAuthInvalidRequest(
          "use one client authentication method, not both Basic and form fields");
    }
    auto decoded = crypto::Base64Decode(authz->substr(6));
    if (!decoded.ok()) return OAuthInvalidClient("malformed Basic authorization");
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return OAuthInvalidClient("malformed Basic authorization");
    *id = decoded->substr(0, colon);
    *secret = decoded->substr(colon + 1);
  }
  return Status::Ok();
}

Response TokenJson(const IssuedToken& t, bool milliseconds) {
  JsonObjectWriter body(t.access_token.size() + 128);
  body.Add("access_token", t.access_token)
      .Add("expires_in", milliseconds ? t.expires_in_ms : t.expires_in_seconds);
  if (!milliseconds) {
    std::string scope;
    for (const auto& x : t.scopes) {
      if (!scope.empty()) scope += ',';
      scope += x;
    }
    body.Add("scope", scope);
  }
  body.Add("token_type", "bearer");
  return NoStore(Response::Text(200, body.Finish(), "application/json"));
}

StatusOr<json> ReadJsonBody(Request& req, size_t limit = 64 * 1024) {
  if (req.MediaType() != "application/json") {
    return Status(Code::kUnsupportedMedia, "expected a body of application/json");
  }
  PORTICO_ASSIGN_OR_RETURN(std::string text, req.body->ReadAll(limit));
  PORTICO_ASSIGN_OR_RETURN(json body, ParseStrictJson(text, {.max_bytes = limit, .max_depth = 8}));
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  return body;
}

StatusOr<std::string> StringField(const json& body, const char* name, bool required = true) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string("'") + name + "' is required");
    return std::string();
  }
  if (!it->is_string()) return InvalidArgument(std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

json ProjectJson(const ProjectRecord& p) {
  return {{"id", p.id},
          {"org_id", p.org_id},
          {"name", p.name},
          {"apis", p.apis},
          {"created_at", p.created_at}};
}

json CredentialJson(const CredentialRecord& c, const ConsoleService& console) {
  json certs = json::array();
  for (const auto& cert : c.certificates) {
    certs.push_back({{"fingerprint", cert.fingerprint},
                     {"not_after", cert.not_after},
                     {"added_at", cert.added_at}});
  }
  json j = {{"client_id", c.client_id},
            {"org_id", c.org_id},
            {"project_id", c.project_id},
            {"type", c.type},
            {"name", c.name},
            {"technical_account_id", c.technical_account_id},
            {"created_at", c.created_at},
            {"secret_rotated_at", c.secret_rotated_at}};
  if (c.type == "service_account") {
    j["metascopes"] = c.scopes;
    j["certificates"] = certs;
    j["jwt_payload"] = console.JwtPayload(c);
  } else {
    j["scopes"] = c.scopes;
  }
  return j;
}

template <typename T>
Response JsonOr(const StatusOr<T>& r, const std::function<json(const T&)>& view, int status = 200) {
  if (!r.ok()) return Response::Error(r.status());
  return Response::Json(status, view(*r));
}

}  // namespace

void AddImsRoutes(http::Router& router, const ImsApiDeps& d) {
  // The token endpoints run on the I/O threads: a request costs ~100 µs of CPU (crypto, a
  // cached credential, one small SQLite write), less than the two thread switches of the pool.
  const RouteOptions token_route{
      .max_body_bytes = kTokenRouteBodyLimit, .run_inline = true, .auth = "client"};

  // --- The JWT exchange (IMS-PROTOCOL.md), with and without the trailing slash.
  auto exchange = [d](Request& req) {
    auto form = ReadTokenForm(req);
    if (!form.ok()) return OAuthError(form.status());
    auto token = d.tokens->ExchangeJwt(Field(*form, "client_id"), Field(*form, "client_secret"),
                                       Field(*form, "jwt_token"));
    if (!token.ok()) return OAuthError(token.status());
    return TokenJson(*token, /*milliseconds=*/true);
  };
  RouteOptions ex = token_route;
  ex.summary = "Service-account JWT exchange (expires_in in milliseconds)";
  ex.name = "/ims/exchange/jwt";
  router.Add("POST", "/ims/exchange/jwt", exchange, ex);
  router.Add("POST", "/ims/exchange/jwt/", exchange, ex);

  // --- OAuth 2.0 token endpoints.
  auto token_endpoint = [d](bool v3) {
    return [d, v3](Request& req) {
      auto form = ReadTokenForm(req);
      if (!form.ok()) return OAuthError(form.status());
      std::string grant = Field(*form, "grant_type");
      if (grant.empty()) return OAuthError(OAuthInvalidRequest("grant_type is required"));
      std::string id, secret;
      Status auth = ClientAuth(req, *form, &id, &secret);
      if (!auth.ok()) return OAuthError(auth);
      if (grant == "client_credentials") {
        auto org = form->Get("org_id");
        auto t =
            d.tokens->ClientCredentials(id, secret, Field(*form, "scope"),
                                        org ? std::optional<std::string_view>(*org) : std::nullopt);
        if (!t.ok()) return OAuthError(t.status());
        return TokenJson(*t, false);
      }
      if (v3 && grant == kJwtBearerGrant) {
        auto t = d.tokens->ExchangeJwt(id, secret, Field(*form, "assertion"));
        if (!t.ok()) return OAuthError(t.status());
        return TokenJson(*t, false);
      }
      return OAuthError(OAuthUnsupportedGrantType("grant_type '" + grant.substr(0, 64) +
                                                  "' is not supported here"));
    };
  };
  RouteOptions v2 = token_route;
  v2.summary = "OAuth server-to-server: client_credentials (comma-separated scope)";
  router.Add("POST", "/ims/token/v2", token_endpoint(false), v2);
  RouteOptions v3 = token_route;
  v3.summary = "OAuth 2.0 token endpoint: client_credentials and the RFC 7523 JWT-bearer grant";
  router.Add("POST", "/ims/token/v3", token_endpoint(true), v3);

  // --- Discovery and keys.
  router.Add(
      "GET", "/.well-known/openid-configuration",
      [d](Request&) {
        const std::string& base = d.settings->public_url;
        Response r = Response::Json(
            200,
            {
                {"issuer", base},
                {"token_endpoint", base + "/ims/token/v3"},
                {"jwks_uri", base + "/ims/keys"},
                {"userinfo_endpoint", base + "/ims/profile/v1"},
                {"grant_types_supported", {"client_credentials", kJwtBearerGrant}},
                {"token_endpoint_auth_methods_supported",
                 {"client_secret_post", "client_secret_basic"}},
                {"id_token_signing_alg_values_supported", {"ES256"}},
                {"token_endpoint_auth_signing_alg_values_supported", {"RS256", "ES256"}},
                {"response_types_supported", {"token"}},
                {"subject_types_supported", {"public"}},
                {"scopes_supported", {"openid", "AdobeID", "read_organizations", "ent_portal_sdk"}},
            });
        r.headers.Set("Cache-Control", "public, max-age=3600");
        return r;
      },
      {.run_inline = true, .summary = "OIDC discovery"});
  router.Add("GET", "/ims/keys",
             [d](Request&) {
               Response r = Response::Text(200, d.keys->JwksJson(), "application/json");
               r.headers.Set("Cache-Control", "public, max-age=300");
               return r;
             },
             {.run_inline = true, .summary = "JWKS: the public keys that sign access tokens"});

  // --- Token validation and the caller's profile.
  router.Add(
      "POST", "/ims/validate_token/v1",
      [d](Request& req) {
        auto form = ReadTokenForm(req);
        if (!form.ok()) return OAuthError(form.status());
        std::string token(req.BearerToken().value_or(""));
        if (token.empty()) token = Field(*form, "token");
        if (token.empty())
          return OAuthError(
              OAuthInvalidRequest("no token: send Authorization: Bearer or a token field"));
        std::string type = Field(*form, "type");
        if (!type.empty() && type != "access_token") {
          return Response::Json(
              200, {{"valid", false}, {"reason", "only access tokens are validated here"}});
        }
        auto v = d.tokens->VerifyAccessToken(token);
        if (!v.ok()) {
          if (v.status().code() != Code::kUnauthenticated) return Response::Error(v.status());
          return NoStore(Response::Json(200, {{"valid", false}, {"reason", v.status().message()}}));
        }
        std::string client_id = Field(*form, "client_id");
        if (!client_id.empty() && client_id != v->client_id) {
          return NoStore(Response::Json(
              200, {{"valid", false}, {"reason", "token was issued to another client"}}));
        }
        return NoStore(Response::Json(
            200, {{"valid", true}, {"expires_at", v->expires_at * 1000}, {"token", v->claims}}));
      },
      {.max_body_bytes = kTokenRouteBodyLimit, .summary = "Is this access token valid?"});

  router.Add("GET", "/ims/profile/v1",
             [d](Request& req) {
               auto v = d.tokens->VerifyAccessToken(req.BearerToken().value_or(""));
               if (!v.ok()) return OAuthError(v.status());
               bool technical = v->claims.value("account_type", "") == "technical_account";
               return NoStore(
                   Response::Json(200, {{"userId", v->user_id},
                                        {"sub", v->user_id},
                                        {"account_type", technical ? "technical_account" : "user"},
                                        {"email", technical ? v->user_id : ""},
                                        {"ownerOrg", v->org_id},
                                        {"client_id", v->client_id},
                                        {"scope", v->claims.value("scope", "")}}));
             },
             {.summary = "The caller's profile", .auth = "bearer"});

  router.Add("GET", "/ims/organizations/v6",
             [d](Request& req) {
               auto v = d.tokens->VerifyAccessToken(req.BearerToken().value_or(""));
               if (!v.ok()) return OAuthError(v.status());
               return NoStore(Response::Json(
                   200, json::array({{{"orgName", v->org_id},
                                      {"orgRef", {{"ident", v->org_id}, {"authSrc", "PorticoOrg"}}},
                                      {"orgType", "Enterprise"}}})));
             },
             {.summary = "The caller's orgs", .auth = "bearer"});

  // --- Admin API.
  router.Add("POST", "/api/v1/login",
             [d](Request& req) {
               std::string login, password;
               if (req.MediaType() == "application/json") {
                 auto body = ReadJsonBody(req);
                 if (!body.ok()) return Response::Error(body.status());
                 auto l = StringField(*body, "login");
                 auto p = StringField(*body, "password");
                 if (!l.ok()) return Response::Error(l.status());
                 if (!p.ok()) return Response::Error(p.status());
                 login = *l;
                 password = *p;
               } else {
                 auto form = ReadTokenForm(req);
                 if (!form.ok()) return Response::Error(form.status());
                 login = Field(*form, "login");
                 password = Field(*form, "password");
               }
               auto r = d.admin->Login(login, password, req.remote_address);
               if (!r.ok()) return Response::Error(r.status());
               return NoStore(Response::Json(200, {{"access_token", r->token.access_token},
                                                   {"token_type", "bearer"},
                                                   {"expires_in", r->token.expires_in_seconds},
                                                   {"user_id", r->user.id},
                                                   {"org_id", r->user.org_id}}));
             },
             {.summary = "An admin logs in with login and password"});

  auto authed = [d](auto fn) {
    return [d, fn](Request& req) -> Response {
      auto p =
          d.admin->AuthorizeOrg(req.BearerToken().value_or(""), std::string(req.PathParam("org")));
      if (!p.ok()) return Response::Error(p.status());
      return fn(req, *p);
    };
  };
  const RouteOptions admin_route{.max_body_bytes = 64 * 1024, .auth = "bearer"};
  auto opts = [&](const char* summary) {
    RouteOptions o = admin_route;
    o.summary = summary;
    return o;
  };

  router.Add(
      "GET", "/api/v1/me",
      [d](Request& req) {
        auto p = d.admin->Authenticate(req.BearerToken().value_or(""));
        if (!p.ok()) return Response::Error(p.status());
        return Response::Json(
            200, {{"user_id", p->user_id}, {"org_id", p->org_id}, {"login", p->login}});
      },
      opts("The admin this token belongs to"));

  router.Add("GET", "/api/v1/orgs/{org}/projects", authed([d](Request&, const AdminPrincipal& p) {
               return JsonOr<std::vector<ProjectRecord>>(d.console->ListProjects(p.org_id),
                                                         [](const auto& v) {
                                                           json a = json::array();
                                                           for (const auto& x : v)
                                                             a.push_back(ProjectJson(x));
                                                           return a;
                                                         });
             }),
             opts("List projects"));
  router.Add("POST", "/api/v1/orgs/{org}/projects",
             authed([d](Request& req, const AdminPrincipal& p) {
               auto body = ReadJsonBody(req);
               if (!body.ok()) return Response::Error(body.status());
               auto name = StringField(*body, "name");
               if (!name.ok()) return Response::Error(name.status());
               auto project = d.console->CreateProject(p.org_id, *name);
               if (project.ok() && body->contains("apis")) {
                 if (!(*body)["apis"].is_array())
                   return Response::Error(InvalidArgument("'apis' must be an array of names"));
                 for (const auto& api : (*body)["apis"]) {
                   if (!api.is_string())
                     return Response::Error(InvalidArgument("'apis' must be an array of names"));
                   project = d.console->AddApi(p.org_id, project->id, api.get<std::string>());
                   if (!project.ok()) break;
                 }
               }
               return JsonOr<ProjectRecord>(project, ProjectJson, 201);
             }),
             opts("Create a project"));
  router.Add("GET", "/api/v1/orgs/{org}/projects/{project}",
             authed([d](Request& req, const AdminPrincipal& p) {
               return JsonOr<ProjectRecord>(
                   d.console->GetProject(p.org_id, std::string(req.PathParam("project"))),
                   ProjectJson);
             }),
             opts("Show a project (by id or name)"));
  router.Add("DELETE", "/api/v1/orgs/{org}/projects/{project}",
             authed([d](Request& req, const AdminPrincipal& p) {
               Status st =
                   d.console->DeleteProject(p.org_id, std::string(req.PathParam("project")));
               return st.ok() ? Response::NoContent() : Response::Error(st);
             }),
             opts("Delete a project and its credentials"));
  router.Add("POST", "/api/v1/orgs/{org}/projects/{project}/apis",
             authed([d](Request& req, const AdminPrincipal& p) {
               auto body = ReadJsonBody(req);
               if (!body.ok()) return Response::Error(body.status());
               auto api = StringField(*body, "api");
               if (!api.ok()) return Response::Error(api.status());
               return JsonOr<ProjectRecord>(
                   d.console->AddApi(p.org_id, std::string(req.PathParam("project")), *api),
                   ProjectJson);
             }),
             opts("Add an API (portal) to a project"));

  router.Add("POST", "/api/v1/orgs/{org}/projects/{project}/credentials",
             authed([d](Request& req, const AdminPrincipal& p) {
               auto body = ReadJsonBody(req);
               if (!body.ok()) return Response::Error(body.status());
               auto type = StringField(*body, "type");
               auto name = StringField(*body, "name", false);
               if (!type.ok()) return Response::Error(type.status());
               if (!name.ok()) return Response::Error(name.status());
               std::string project(req.PathParam("project"));
               StatusOr<CreatedCredential> created =
                   InvalidArgument("'type' must be service_account or oauth_server_to_server");
               if (*type == "service_account") {
                 auto cert = StringField(*body, "certificate");
                 if (!cert.ok()) return Response::Error(cert.status());
                 created = d.console->CreateServiceAccount(p.org_id, project, *cert, *name);
               } else if (*type == "oauth_server_to_server") {
                 created = d.console->CreateOAuth(p.org_id, project, *name);
               }
               if (!created.ok()) return Response::Error(created.status());
               json j = CredentialJson(created->credential, *d.console);
               j["client_secret"] = created->client_secret;
               return NoStore(Response::Json(201, j));
             }),
             opts("Create a credential: a service account from a PEM certificate, or OAuth "
                  "server-to-server"));
  router.Add("GET", "/api/v1/orgs/{org}/credentials",
             authed([d](Request& req, const AdminPrincipal& p) {
               auto project = req.QueryParam("project");
               auto list = d.console->ListCredentials(
                   p.org_id, project ? std::optional<std::string>(*project) : std::nullopt);
               return JsonOr<std::vector<CredentialRecord>>(list, [d](const auto& v) {
                 json a = json::array();
                 for (const auto& c : v) a.push_back(CredentialJson(c, *d.console));
                 return a;
               });
             }),
             opts("List credentials (optionally ?project=)"));
  router.Add("GET", "/api/v1/orgs/{org}/credentials/{client_id}",
             authed([d](Request& req, const AdminPrincipal& p) {
               return JsonOr<CredentialRecord>(
                   d.console->GetCredential(p.org_id, std::string(req.PathParam("client_id"))),
                   [d](const auto& c) { return CredentialJson(c, *d.console); });
             }),
             opts("Show a credential"));
  router.Add("DELETE", "/api/v1/orgs/{org}/credentials/{client_id}",
             authed([d](Request& req, const AdminPrincipal& p) {
               Status st =
                   d.console->DeleteCredential(p.org_id, std::string(req.PathParam("client_id")));
               return st.ok() ? Response::NoContent() : Response::Error(st);
             }),
             opts("Delete a credential"));
  router.Add("POST", "/api/v1/orgs/{org}/credentials/{client_id}/secret",
             authed([d](Request& req, const AdminPrincipal& p) {
               std::string id(req.PathParam("client_id"));
               auto secret = d.console->RotateSecret(p.org_id, id);
               if (!secret.ok()) return Response::Error(secret.status());
               return NoStore(Response::Json(200, {{"client_id", id}, {"client_secret", *secret}}));
             }),
             opts("Rotate the client secret (the old one stops working)"));
  router.Add(
      "POST", "/api/v1/orgs/{org}/credentials/{client_id}/certificates",
      authed([d](Request& req, const AdminPrincipal& p) {
        auto body = ReadJsonBody(req);
        if (!body.ok()) return Response::Error(body.status());
        auto cert = StringField(*body, "certificate");
        if (!cert.ok()) return Response::Error(cert.status());
        return JsonOr<CredentialRecord>(
            d.console->AddCertificate(p.org_id, std::string(req.PathParam("client_id")), *cert),
            [d](const auto& c) { return CredentialJson(c, *d.console); });
      }),
      opts("Add a certificate (at most two)"));
  router.Add("DELETE", "/api/v1/orgs/{org}/credentials/{client_id}/certificates/{fingerprint}",
             authed([d](Request& req, const AdminPrincipal& p) {
               return JsonOr<CredentialRecord>(
                   d.console->RemoveCertificate(p.org_id, std::string(req.PathParam("client_id")),
                                                std::string(req.PathParam("fingerprint"))),
                   [d](const auto& c) { return CredentialJson(c, *d.console); });
             }),
             opts("Remove a certificate"));

  router.Add(
      "POST", "/api/v1/signing-keys/rotate",
      [d](Request& req) {
        auto p = d.admin->Authenticate(req.BearerToken().value_or(""));
        if (!p.ok()) return Response::Error(p.status());
        if (!d.admin->IsSystemAdmin(*p))
          return Response::Error(
              PermissionDenied("only the system administrator rotates signing keys"));
        Status st = d.keys->Rotate();
        if (!st.ok()) return Response::Error(st);
        return Response::Json(200, {{"active_kid", d.keys->active_kid()}});
      },
      opts("Rotate the token-signing key (system administrator)"));
}

}  // namespace portico::ims

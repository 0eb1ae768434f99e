#include <sstream>

#include "cli/commands.h"

namespace portico::cli {
namespace {

using nlohmann::json;

// Runs `fn` with a logged-in client and the org, printing its result or its error.
template <typename Fn>
int WithClient(const GlobalFlags& flags, Fn fn) {
  CliContext ctx(flags);
  auto client = ctx.AdminClient();
  if (!client.ok()) return ctx.Fail(client.status());
  auto org = ctx.Org(**client);
  if (!org.ok()) return ctx.Fail(org.status());
  return fn(ctx, **client, *org);
}

std::string ProjectText(const json& p) {
  std::string apis;
  for (const auto& a : p.value("apis", json::array()))
    apis += (apis.empty() ? "" : ",") + a.get<std::string>();
  return p.value("name", "") + "  id=" + p.value("id", "") +
         "  apis=" + (apis.empty() ? "-" : apis);
}

std::string CredentialText(const json& c) {
  std::ostringstream s;
  s << "client_id             " << c.value("client_id", "") << "\n";
  if (c.contains("client_secret"))
    s << "client_secret         " << c.value("client_secret", "") << "  (shown once)\n";
  s << "type                  " << c.value("type", "") << "\n"
    << "technical_account_id  " << c.value("technical_account_id", "") << "\n"
    << "org_id                " << c.value("org_id", "") << "\n";
  if (c.contains("metascopes")) s << "metascopes            " << c["metascopes"].dump() << "\n";
  if (c.contains("scopes")) s << "scopes                " << c["scopes"].dump() << "\n";
  if (c.contains("certificates")) {
    for (const auto& cert : c["certificates"])
      s << "certificate           " << cert.value("fingerprint", "") << "\n";
  }
  if (c.contains("jwt_payload")) s << "jwt_payload           " << c["jwt_payload"].dump() << "\n";
  return s.str();
}

}  // namespace

void AddConsoleCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto* console =
      app.add_subcommand("console", "The developer console: projects, APIs and credentials");
  console->require_subcommand(1);

  // --- projects
  auto* project = console->add_subcommand("project", "Projects of the org");
  project->require_subcommand(1);
  {
    auto name = std::make_shared<std::string>();
    auto apis = std::make_shared<std::vector<std::string>>();
    auto* c = project->add_subcommand("create", "Create a project");
    c->add_option("name", *name, "Project name")->required();
    c->add_option("--api", *apis, "Add an API (portal)");
    c->callback([&flags, &exit_code, name, apis] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            auto p = client.CreateProject(org, *name, *apis);
            return p.ok() ? ctx.Print(*p, ProjectText(*p)) : ctx.Fail(p.status());
          });
    });
  }
  project->add_subcommand("list", "List projects")->callback([&flags, &exit_code] {
    exit_code =
        WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
          auto list = client.ListProjects(org);
          if (!list.ok()) return ctx.Fail(list.status());
          std::string text;
          for (const auto& p : *list) text += ProjectText(p) + "\n";
          return ctx.Print(*list, text.empty() ? "no projects" : text);
        });
  });
  for (const char* verb : {"show", "delete"}) {
    auto id = std::make_shared<std::string>();
    auto* c = project->add_subcommand(verb, std::string(verb) + " a project (by id or name)");
    c->add_option("project", *id, "Project id or name")->required();
    bool del = std::string(verb) == "delete";
    c->callback([&flags, &exit_code, id, del] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            if (del) {
              Status st = client.DeleteProject(org, *id);
              return st.ok() ? ctx.Print(json{{"deleted", *id}}, "deleted " + *id) : ctx.Fail(st);
            }
            auto p = client.GetProject(org, *id);
            return p.ok() ? ctx.Print(*p, ProjectText(*p)) : ctx.Fail(p.status());
          });
    });
  }

  // --- APIs
  {
    auto* api = console->add_subcommand("api", "APIs of a project");
    api->require_subcommand(1);
    auto proj = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>("portal");
    auto* add = api->add_subcommand("add", "Add an API to a project");
    add->add_option("--project", *proj, "Project id or name")->required();
    add->add_option("--api", *name, "API name (default portal)");
    add->callback([&flags, &exit_code, proj, name] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            auto p = client.AddApi(org, *proj, *name);
            return p.ok() ? ctx.Print(*p, ProjectText(*p)) : ctx.Fail(p.status());
          });
    });
  }

  // --- credentials
  auto* cred = console->add_subcommand("credential",
                                       "Credentials: service accounts and OAuth server-to-server");
  cred->require_subcommand(1);
  {
    struct CreateOpts {
      std::string project, cert, name;
      bool oauth = false;
    };
    auto o = std::make_shared<CreateOpts>();
    auto* c = cred->add_subcommand(
        "create", "Create a credential in a project (made, with the portal API, if missing)");
    c->add_option("--project", o->project, "Project name or id")->required();
    auto* cert_opt = c->add_option("--cert", o->cert,
                                   "PEM certificate file: a service-account (JWT) credential");
    auto* oauth_opt =
        c->add_flag("--oauth", o->oauth, "An OAuth server-to-server credential instead");
    cert_opt->excludes(oauth_opt);
    c->add_option("--name", o->name, "Credential name");
    c->callback([&flags, &exit_code, o] {
      exit_code = WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client,
                                        const std::string& org) {
        if (o->cert.empty() && !o->oauth)
          return ctx.Fail(InvalidArgument("give --cert FILE.crt or --oauth"));
        std::string pem;
        if (!o->cert.empty()) {
          auto text = ReadFile(o->cert, 64 * 1024);
          if (!text.ok()) return ctx.Fail(text.status());
          pem = *text;
        }
        auto p = client.GetProject(org, o->project);
        if (!p.ok() && p.status().code() == Code::kNotFound)
          p = client.CreateProject(org, o->project, {"portal"});
        if (!p.ok()) return ctx.Fail(p.status());
        bool has_portal = false;
        for (const auto& a : (*p)["apis"]) has_portal |= a == "portal";
        if (!has_portal) {
          auto added = client.AddApi(org, (*p)["id"], "portal");
          if (!added.ok()) return ctx.Fail(added.status());
        }
        auto created = client.CreateCredential(
            org, (*p)["id"], o->oauth ? "oauth_server_to_server" : "service_account", pem, o->name);
        return created.ok() ? ctx.Print(*created, CredentialText(*created))
                            : ctx.Fail(created.status());
      });
    });
  }
  {
    auto proj = std::make_shared<std::string>();
    auto* l = cred->add_subcommand("list", "List credentials");
    l->add_option("--project", *proj, "Only this project");
    l->callback([&flags, &exit_code, proj] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            auto list = client.ListCredentials(
                org, proj->empty() ? std::nullopt : std::optional<std::string>(*proj));
            if (!list.ok()) return ctx.Fail(list.status());
            std::string text;
            for (const auto& c : *list)
              text += c.value("client_id", "") + "  " + c.value("type", "") + "  " +
                      c.value("name", "") + "\n";
            return ctx.Print(*list, text.empty() ? "no credentials" : text);
          });
    });
  }
  for (const char* verb : {"show", "delete", "rotate-secret"}) {
    auto id = std::make_shared<std::string>();
    auto* c = cred->add_subcommand(verb, std::string(verb) + " a credential");
    c->add_option("client_id", *id, "Client id")->required();
    std::string v = verb;
    c->callback([&flags, &exit_code, id, v] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            if (v == "delete") {
              Status st = client.DeleteCredential(org, *id);
              return st.ok() ? ctx.Print(json{{"deleted", *id}}, "deleted " + *id) : ctx.Fail(st);
            }
            auto r = v == "show" ? client.GetCredential(org, *id) : client.RotateSecret(org, *id);
            return r.ok() ? ctx.Print(*r, CredentialText(*r)) : ctx.Fail(r.status());
          });
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto cert = std::make_shared<std::string>();
    auto* c = cred->add_subcommand("add-cert", "Add a second certificate to a service account");
    c->add_option("client_id", *id, "Client id")->required();
    c->add_option("--cert", *cert, "PEM certificate file")->required();
    c->callback([&flags, &exit_code, id, cert] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            auto pem = ReadFile(*cert, 64 * 1024);
            if (!pem.ok()) return ctx.Fail(pem.status());
            auto r = client.AddCertificate(org, *id, *pem);
            return r.ok() ? ctx.Print(*r, CredentialText(*r)) : ctx.Fail(r.status());
          });
    });
    auto id2 = std::make_shared<std::string>();
    auto fp = std::make_shared<std::string>();
    auto* rm = cred->add_subcommand("remove-cert", "Remove a certificate from a service account");
    rm->add_option("client_id", *id2, "Client id")->required();
    rm->add_option("fingerprint", *fp, "Certificate fingerprint (sha256 hex)")->required();
    rm->callback([&flags, &exit_code, id2, fp] {
      exit_code =
          WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string& org) {
            auto r = client.RemoveCertificate(org, *id2, *fp);
            return r.ok() ? ctx.Print(*r, CredentialText(*r)) : ctx.Fail(r.status());
          });
    });
  }

  // --- signing keys
  auto* keys = console->add_subcommand("signing-key", "The identity service's token-signing keys");
  keys->require_subcommand(1);
  keys->add_subcommand(
          "rotate", "Make a new signing key; the old one stays published until its tokens expire")
      ->callback([&flags, &exit_code] {
        exit_code =
            WithClient(flags, [&](CliContext& ctx, ims::ImsClient& client, const std::string&) {
              auto r = client.RotateSigningKey();
              return r.ok() ? ctx.Print(*r, "active key: " + r->value("active_kid", ""))
                            : ctx.Fail(r.status());
            });
      });
}

}  // namespace portico::cli

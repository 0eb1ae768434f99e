#include "cli/connect.h"

#include <iostream>
#include <vector>

#include "cli/commands.h"

#include "author/client/author_client.h"
#include "ims/client/ims_client.h"
#include "portal/client/portal_client.h"

namespace portico::cli {
namespace {

class Steps {
 public:
  explicit Steps(const ConnectOptions& o) : o_(o) {}

  void Ok(const std::string& step, const std::string& message,
          nlohmann::json details = nlohmann::json::object()) {
    details["step"] = step;
    details["ok"] = true;
    details["message"] = message;
    Emit(std::move(details));
  }

  Status Failed(const std::string& step, const Status& st) {
    Emit({{"step", step}, {"ok", false}, {"message", st.message()}});
    return Status(st.code(), st.error(), step + ": " + st.message());
  }

  nlohmann::json all() const { return steps_; }

 private:
  void Emit(nlohmann::json step) {
    if (o_.on_step) o_.on_step(step);
    steps_.push_back(std::move(step));
  }
  const ConnectOptions& o_;
  nlohmann::json steps_ = nlohmann::json::array();
};

}  // namespace

void PrintStep(const nlohmann::json& step) {
  std::cout << "  [" << (step.value("ok", false) ? "ok" : "failed") << "] "
            << step.value("message", "") << std::endl;
}

StatusOr<nlohmann::json> Connect(const ConnectOptions& o) {
  Steps steps(o);

  // 1. The org admin.
  ims::ImsClient ims(o.ims_url);
  auto login = ims.Login(o.login, o.password);
  if (!login.ok()) return steps.Failed("login", login.status());
  const std::string token = login->value("access_token", "");
  auto me = ims.Me();
  if (!me.ok()) return steps.Failed("login", me.status());
  const std::string org = me->value("org_id", me->value("org", ""));
  steps.Ok("login", "logged in to " + o.ims_url + " as " + o.login, {{"org", org}});

  // 2. The tenant on the portal (made for this org when it does not exist yet).
  portal::PortalClient portal(o.portal_url, o.tenant);
  portal.SetToken(token);
  auto tenant = portal.GetTenant(o.tenant);
  if (!tenant.ok() && tenant.status().code() == Code::kNotFound) {
    tenant = portal.CreateTenant(o.tenant);
    if (!tenant.ok()) return steps.Failed("tenant", tenant.status());
    steps.Ok("tenant", "created tenant " + o.tenant + " at " + portal.TenantUrl());
  } else if (!tenant.ok()) {
    return steps.Failed("tenant", tenant.status());
  } else {
    steps.Ok("tenant", "tenant " + o.tenant + " exists at " + portal.TenantUrl());
  }

  author::AuthorClient author(o.author_url);
  author.SetToken(token);

  // 3. The IMS configuration (kept when it exists and is healthy).
  auto existing = author.GetImsConfig();
  bool configured = false;
  if (existing.ok()) {
    auto health = author.CheckHealth();
    if (health.ok() && health->value("ok", false)) {
      configured = true;
      steps.Ok("ims_configuration", "the author's IMS configuration exists and is healthy: " +
                                        health->value("message", ""));
    } else {
      return steps.Failed(
          "ims_configuration",
          Conflict("the author already has an IMS configuration that does not obtain a token (" +
                   (health.ok() ? health->value("message", "") : health.status().message()) +
                   "); fix it with 'portico author ims ...' or delete it first"));
    }
  } else if (existing.status().code() != Code::kNotFound) {
    return steps.Failed("ims_configuration", existing.status());
  }

  std::string client_id;
  if (!configured) {
    auto created = author.CreateImsConfig(o.alias);
    if (!created.ok()) return steps.Failed("ims_configuration", created.status());
    steps.Ok("ims_configuration", "created the IMS configuration '" + o.alias +
                                      "' (RSA key pair and self-signed certificate on the author)");

    // 4. Its public certificate.
    auto pem = author.GetCertificatePem();
    if (!pem.ok()) return steps.Failed("certificate", pem.status());
    steps.Ok("certificate", "downloaded the author's public certificate");

    // 5. The developer console: project, portal API, service-account credential.
    auto project = ims.GetProject(org, o.project);
    if (!project.ok() && project.status().code() == Code::kNotFound) {
      project = ims.CreateProject(org, o.project, {"portal"});
    }
    if (!project.ok()) return steps.Failed("project", project.status());
    if (auto api = ims.AddApi(org, o.project, "portal"); !api.ok()) {
      return steps.Failed("project", api.status());
    }
    steps.Ok("project", "project '" + o.project + "' has the portal API");
    auto cred = ims.CreateCredential(org, o.project, "service_account", *pem, "portico-author");
    if (!cred.ok()) return steps.Failed("credential", cred.status());
    client_id = cred->value("client_id", "");
    steps.Ok("credential", "registered the certificate: service-account credential " + client_id,
             {{"client_id", client_id}});

    // 6. The account on the author.
    nlohmann::json account = {{"title", "Portico identity"},
                              {"authorization_server", o.ims_url},
                              {"client_id", client_id},
                              {"client_secret", cred->value("client_secret", "")},
                              {"jwt_payload", (*cred)["jwt_payload"]}};
    if (auto set = author.SetImsAccount(account); !set.ok()) {
      return steps.Failed("account", set.status());
    }
    steps.Ok("account", "filled the author's account (client id, secret, JWT payload)");

    // 7. Check health.
    auto health = author.CheckHealth();
    if (!health.ok()) return steps.Failed("health", health.status());
    if (!health->value("ok", false)) {
      return steps.Failed("health",
                          Status(Code::kPreconditionFailed, health->value("cause", "health"),
                                 health->value("message", "check health failed")));
    }
    steps.Ok("health", health->value("message", "Token is retrieved successfully"));
  }

  // 8. The cloud service and its agents (kept when it already points at this tenant).
  const std::string tenant_url = portal.TenantUrl();
  auto service = author.GetCloudService();
  if (service.ok() && service->value("tenant_url", "") != tenant_url) {
    return steps.Failed("cloud_service",
                        Conflict("the author is already bound to " +
                                 service->value("tenant_url", std::string("another tenant")) +
                                 "; an author serves one tenant"));
  }
  if (!service.ok()) {
    if (service.status().code() != Code::kNotFound) {
      return steps.Failed("cloud_service", service.status());
    }
    service = author.CreateCloudService(o.title, tenant_url);
    if (!service.ok()) return steps.Failed("cloud_service", service.status());
    steps.Ok("cloud_service", "created the portal cloud service for " + tenant_url);
  } else {
    steps.Ok("cloud_service", "the portal cloud service for " + tenant_url + " exists");
  }

  // 9. Test every agent.
  auto agents = author.ListAgents();
  if (!agents.ok()) return steps.Failed("agents", agents.status());
  const nlohmann::json& list = agents->is_array() ? *agents : (*agents)["agents"];
  nlohmann::json names = nlohmann::json::array();
  for (const auto& a : list) {
    std::string name = a.value("name", "");
    auto test = author.TestAgent(name);
    if (!test.ok()) return steps.Failed("agent " + name, test.status());
    if (!test->value("ok", false)) {
      return steps.Failed("agent " + name,
                          Status(Code::kPreconditionFailed, "test_connection_failed",
                                 test->value("message", "test connection failed")));
    }
    steps.Ok("agent " + name, "agent " + name + ": " + test->value("message", ""));
    names.push_back(name);
  }
  return nlohmann::json{{"steps", steps.all()},
                        {"tenant_url", tenant_url},
                        {"org", org},
                        {"client_id", client_id},
                        {"agents", names}};
}

}  // namespace portico::cli

namespace portico::cli {

void AddConnectCommand(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto* connect = app.add_subcommand(
      "connect",
      "Connect an author to a portal tenant through the identity service, printing each step");
  auto project = std::make_shared<std::string>("portico-author");
  connect->add_option("--project", *project, "Developer-console project to use or create");
  connect->callback([&flags, &exit_code, project] {
    CliContext ctx(flags);
    ConnectOptions o;
    o.project = *project;
    auto ims = ctx.ImsUrl();
    auto author = ctx.AuthorUrl();
    auto portal = ctx.PortalUrl();
    auto tenant = ctx.Tenant();
    for (const Status& st : {ims.status(), author.status(), portal.status(), tenant.status()}) {
      if (!st.ok()) {
        exit_code = ctx.Fail(st);
        return;
      }
    }
    auto login = ctx.Login();
    if (!login.ok()) {
      exit_code = ctx.Fail(login.status());
      return;
    }
    o.ims_url = *ims;
    o.author_url = *author;
    o.portal_url = *portal;
    o.tenant = *tenant;
    o.login = login->first;
    o.password = login->second;
    if (!ctx.json()) o.on_step = PrintStep;
    auto result = Connect(o);
    if (!result.ok()) {
      exit_code = ctx.Fail(result.status());
      return;
    }
    exit_code = ctx.Print(
        *result, "Connected: the author publishes to " + result->value("tenant_url", "") + ".");
  });
}

}  // namespace portico::cli

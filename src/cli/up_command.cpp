#include <sys/stat.h>

#include <iostream>

#include "author/author_service.h"
#include "cli/commands.h"
#include "cli/connect.h"
#include "core/crypto/random.h"
#include "core/json.h"
#include "core/log.h"
#include "ims/ims_service.h"
#include "portal/portal_service.h"

namespace portico::cli {
namespace {

constexpr const char* kDefaultAdminLogin = "admin@portico.local";
constexpr const char* kDefaultOrgName = "Portico";
constexpr const char* kDefaultTenant = "demo";

struct UpOptions {
  std::string host = "127.0.0.1";
  int ims_port = 8480;
  int author_port = 8481;
  int portal_port = 8482;
};

int RunUp(const GlobalFlags& flags, const UpOptions& o) {
  CliContext ctx(flags);
  if (flags.data.empty())
    return ctx.Fail(
        InvalidArgument("give --data DIR: the folder that holds all of Portico's data"));
  const std::filesystem::path dir = flags.data;
  std::error_code ec;
  std::filesystem::create_directories(dir / "logs", ec);
  if (ec) return ctx.Fail(InvalidArgument("cannot create " + dir.string() + ": " + ec.message()));
  ::chmod(dir.c_str(), 0700);
  if (Status st = log::OpenFile(dir / "logs" / "portico.log"); !st.ok()) return ctx.Fail(st);

  // A second start keeps the admin, org and tenant of the first.
  nlohmann::json state = nlohmann::json::object();
  if (auto text = ReadFile(dir / "portico.json"); text.ok()) {
    auto j = ParseStrictJson(*text);
    if (!j.ok() || !j->is_object())
      return ctx.Fail(InvalidArgument((dir / "portico.json").string() + " is not valid JSON"));
    state = *j;
  }
  std::string login = kDefaultAdminLogin, password, tenant = kDefaultTenant;
  if (state.contains("admin") && state["admin"].is_object()) {
    login = state["admin"].value("login", login);
    password = state["admin"].value("password", "");
  }
  if (state.contains("tenant") && state["tenant"].is_string())
    tenant = state["tenant"].get<std::string>();
  if (password.empty()) password = crypto::RandomToken(18);

  BlockStopSignals();
  ims::ImsOptions io;
  io.data_dir = dir / "ims";
  io.host = o.host;
  io.port = static_cast<uint16_t>(o.ims_port);
  auto ims = ims::ImsService::Start(io);
  if (!ims.ok()) return ctx.Fail(ims.status());
  auto boot = (*ims)->admin().EnsureOrgAdmin(kDefaultOrgName, login, password, "system_admin");
  if (!boot.ok()) return ctx.Fail(boot.status());

  portal::PortalOptions po;
  po.data_dir = dir / "portal";
  po.host = o.host;
  po.port = static_cast<uint16_t>(o.portal_port);
  po.ims_url = (*ims)->url();
  auto portal = portal::PortalService::Start(po);
  if (!portal.ok()) return ctx.Fail(portal.status());
  author::AuthorOptions ao;
  ao.data_dir = dir / "author";
  ao.host = o.host;
  ao.port = static_cast<uint16_t>(o.author_port);
  ao.ims_url = (*ims)->url();
  ao.org = boot->org.id;
  auto author = author::AuthorService::Start(ao);
  if (!author.ok()) return ctx.Fail(author.status());

  nlohmann::json out = {
      {"ims", (*ims)->url()},       {"author", (*author)->url()},
      {"portal", (*portal)->url()}, {"org", boot->org.id},
      {"tenant", tenant},           {"admin", {{"login", login}, {"password", password}}},
  };
  if (Status st = WriteFileAtomically(dir / "portico.json", out.dump(2) + "\n", 0600); !st.ok())
    return ctx.Fail(st);

  // Connect the author to the tenant through the same APIs `portico connect` uses. Steps done
  // on an earlier start are checked and kept.
  if (!flags.json) std::cout << "Connecting the author to the portal tenant '" << tenant << "':\n";
  ConnectOptions co{.ims_url = (*ims)->url(),
                    .login = login,
                    .password = password,
                    .author_url = (*author)->url(),
                    .portal_url = (*portal)->url(),
                    .tenant = tenant};
  if (!flags.json) co.on_step = PrintStep;
  auto connected = Connect(co);
  if (!connected.ok()) {
    (*author)->Stop();
    (*portal)->Stop();
    (*ims)->Stop();
    return ctx.Fail(connected.status());
  }

  if (flags.json) {
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << "Portico is up" << (boot->created ? " (first start: org and admin created)" : "")
              << ".\n"
              << "  identity  " << (*ims)->url() << "\n"
              << "  author    " << (*author)->url() << "\n"
              << "  portal    " << (*portal)->url() << "/t/" << tenant << "\n"
              << "  org       " << boot->org.id << "\n"
              << "  tenant    " << tenant << "\n"
              << "  admin     " << login << " / " << password << "\n"
              << "  settings  " << (dir / "portico.json").string() << " (mode 0600)\n"
              << "  logs      " << (dir / "logs" / "portico.log").string() << "\n"
              << "Press Ctrl-C to stop." << std::endl;
  }
  WaitForStopSignal();
  if (!flags.json) std::cout << "Stopping..." << std::endl;
  (*author)->Stop();
  (*portal)->Stop();
  (*ims)->Stop();
  return 0;
}

}  // namespace

void AddUpCommand(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto* up = app.add_subcommand(
      "up", "Start every service on the embedded defaults (SQLite, local blobs)");
  auto o = std::make_shared<UpOptions>();
  up->add_option("--host", o->host, "Listen address");
  up->add_option("--ims-port", o->ims_port, "Identity service port (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  up->add_option("--author-port", o->author_port, "Author port (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  up->add_option("--portal-port", o->portal_port, "Portal port (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  up->callback([&flags, &exit_code, o] { exit_code = RunUp(flags, *o); });
}

}  // namespace portico::cli

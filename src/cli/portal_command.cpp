// `portico serve portal` and the portal's client commands: tenant create/show, ls, download.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "portal/client/portal_client.h"
#include "portal/portal_service.h"

namespace portico::cli {
namespace {

void AddServePortal(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  CLI::App* serve = app.get_subcommand("serve");
  auto* cmd = serve->add_subcommand(
      "portal", "The multi-tenant portal: tenants, ingest from the author, browse, download");
  struct Opts {
    std::string config, host, public_url, log_file;
    int port = -1;
  };
  auto opts = std::make_shared<Opts>();
  cmd->add_option("--config", opts->config, "JSON config file");
  cmd->add_option("--host", opts->host, "Listen address (default 127.0.0.1)");
  cmd->add_option("--port", opts->port, "Listen port (default 8482; 0 picks a free one)");
  cmd->add_option("--public-url", opts->public_url, "Public base URL (default http://HOST:PORT)");
  cmd->add_option("--log-file", opts->log_file, "Write logs here instead of standard error");
  cmd->callback([&flags, &exit_code, opts] {
    CliContext ctx(flags);
    std::map<std::string, std::string> f;
    if (!flags.data.empty()) f["data"] = flags.data;
    if (!flags.ims.empty()) f["ims_url"] = flags.ims;
    if (!opts->host.empty()) f["host"] = opts->host;
    if (opts->port >= 0) f["port"] = std::to_string(opts->port);
    if (!opts->public_url.empty()) f["public_url"] = opts->public_url;
    if (!opts->log_file.empty()) f["log_file"] = opts->log_file;
    auto config = Config::Load(opts->config, f,
                               {{"data", "portico-data/portal"},
                                {"host", "127.0.0.1"},
                                {"port", "8482"},
                                {"access_log", "true"}});
    if (!config.ok()) {
      exit_code = ctx.Fail(config.status());
      return;
    }
    auto port = config->GetInt("port", 8482, 0, 65535);
    auto access_log = config->GetBool("access_log", true);
    for (const Status& st : {port.status(), access_log.status()}) {
      if (!st.ok()) {
        exit_code = ctx.Fail(st);
        return;
      }
    }
    std::string ims_url = config->GetString("ims_url");
    if (ims_url.empty()) {
      auto from_ctx = ctx.ImsUrl();
      if (!from_ctx.ok()) {
        exit_code = ctx.Fail(from_ctx.status());
        return;
      }
      ims_url = *from_ctx;
    }
    if (Status st = OpenServiceLog(config->GetString("log_file")); !st.ok()) {
      exit_code = ctx.Fail(st);
      return;
    }
    BlockStopSignals();
    portal::PortalOptions o;
    o.data_dir = config->GetString("data");
    o.host = config->GetString("host");
    o.port = static_cast<uint16_t>(*port);
    o.public_url = config->GetString("public_url");
    o.ims_url = ims_url;
    o.access_log = *access_log;
    auto svc = portal::PortalService::Start(o);
    if (!svc.ok()) {
      exit_code = ctx.Fail(svc.status());
      return;
    }
    // One line on stdout when serving, for people and for scripts that wait for readiness.
    std::cout << JsonDump({{"service", "portal"},
                           {"url", (*svc)->url()},
                           {"port", (*svc)->port()},
                           {"ims", ims_url}})
              << std::endl;
    WaitForStopSignal();
    log::Info("stopping", {{"service", "portal"}});
    (*svc)->Stop();
  });
}

// A portal client for the configured portal and tenant, with the admin's token.
StatusOr<std::unique_ptr<portal::PortalClient>> ClientFor(const CliContext& ctx,
                                                          bool needs_tenant) {
  PORTICO_ASSIGN_OR_RETURN(std::string url, ctx.PortalUrl());
  std::string tenant;
  if (needs_tenant) {
    PORTICO_ASSIGN_OR_RETURN(tenant, ctx.Tenant());
  }
  PORTICO_ASSIGN_OR_RETURN(std::string token, ctx.AdminToken());
  auto client = std::make_unique<portal::PortalClient>(url, tenant);
  client->SetToken(token);
  return client;
}

void AddPortalClientCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto* portal = app.add_subcommand("portal", "The portal: tenants, listing, downloads");
  portal->require_subcommand(1);

  // portico portal tenant create TENANT [--alias A] | show [TENANT]
  auto* tenant = portal->add_subcommand("tenant", "The tenant of your org");
  tenant->require_subcommand(1);
  auto* create = tenant->add_subcommand("create", "Create the tenant of the admin's org");
  auto create_opts = std::make_shared<std::pair<std::string, std::string>>();
  create->add_option("TENANT", create_opts->first, "Tenant id ([a-z0-9][a-z0-9-]{1,62})")
      ->required();
  create->add_option("--alias", create_opts->second, "An alias name for the tenant");
  create->callback([&flags, &exit_code, create_opts] {
    CliContext ctx(flags);
    auto client = ClientFor(ctx, false);
    if (!client.ok()) {
      exit_code = ctx.Fail(client.status());
      return;
    }
    auto r = (*client)->CreateTenant(create_opts->first, create_opts->second);
    if (!r.ok()) {
      exit_code = ctx.Fail(r.status());
      return;
    }
    exit_code = ctx.Print(*r, "tenant " + r->value("tenant", "") + " at " + r->value("url", ""));
  });
  auto* show = tenant->add_subcommand("show", "Show a tenant (default: --tenant)");
  auto show_name = std::make_shared<std::string>();
  show->add_option("TENANT", *show_name, "Tenant id or alias");
  show->callback([&flags, &exit_code, show_name] {
    CliContext ctx(flags);
    auto client = ClientFor(ctx, show_name->empty());
    if (!client.ok()) {
      exit_code = ctx.Fail(client.status());
      return;
    }
    auto r = (*client)->GetTenant(show_name->empty() ? (*client)->tenant() : *show_name);
    if (!r.ok()) {
      exit_code = ctx.Fail(r.status());
      return;
    }
    exit_code = ctx.Print(*r, r->dump(2));
  });

  // portico portal ls PATH
  auto* ls = portal->add_subcommand("ls", "List a published folder");
  auto ls_path = std::make_shared<std::string>("/content/dam");
  ls->add_option("PATH", *ls_path, "Folder path (default /content/dam)");
  ls->callback([&flags, &exit_code, ls_path] {
    CliContext ctx(flags);
    auto client = ClientFor(ctx, true);
    if (!client.ok()) {
      exit_code = ctx.Fail(client.status());
      return;
    }
    auto entries = (*client)->ListAll(*ls_path);
    if (!entries.ok()) {
      exit_code = ctx.Fail(entries.status());
      return;
    }
    nlohmann::json out = nlohmann::json::array();
    std::string text;
    for (const auto& e : *entries) {
      out.push_back(e.ToJson());
      text +=
          (e.type == "folder" ? "d " : "- ") +
          (e.type == "folder"
               ? std::string(12, ' ')
               : std::string(std::max<int>(0, 12 - static_cast<int>(std::to_string(e.size).size())),
                             ' ') +
                     std::to_string(e.size)) +
          "  " + e.path + "\n";
    }
    exit_code = ctx.Print(out, text);
  });

  // portico portal download PATH -o FILE
  auto* dl = portal->add_subcommand("download", "Download a published asset to a file");
  auto dl_opts = std::make_shared<std::pair<std::string, std::string>>();
  dl->add_option("PATH", dl_opts->first, "Asset path")->required();
  dl->add_option("-o,--output", dl_opts->second, "File to write (default: the asset's name)");
  dl->callback([&flags, &exit_code, dl_opts] {
    CliContext ctx(flags);
    auto client = ClientFor(ctx, true);
    if (!client.ok()) {
      exit_code = ctx.Fail(client.status());
      return;
    }
    std::string out = dl_opts->second;
    if (out.empty()) out = std::filesystem::path(dl_opts->first).filename().string();
    if (out.empty()) {
      exit_code = ctx.Fail(InvalidArgument("give the file to write with -o FILE"));
      return;
    }
    auto r = (*client)->DownloadToFile(dl_opts->first, out);
    if (!r.ok()) {
      exit_code = ctx.Fail(r.status());
      return;
    }
    std::string sha = r->etag.size() > 2 ? r->etag.substr(1, r->etag.size() - 2) : "";
    exit_code =
        ctx.Print({{"path", dl_opts->first}, {"file", out}, {"size", r->bytes}, {"sha256", sha}},
                  "downloaded " + std::to_string(r->bytes) + " bytes to " + out);
  });
}

}  // namespace

void AddPortalCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  AddServePortal(app, flags, exit_code);
  AddPortalClientCommands(app, flags, exit_code);
}

}  // namespace portico::cli

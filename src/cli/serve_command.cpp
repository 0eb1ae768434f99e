#include <signal.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "ims/ims_service.h"

namespace portico::cli {

void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

Status OpenServiceLog(const std::string& log_file) {
  if (log_file.empty()) return Status::Ok();
  std::error_code ec;
  if (auto parent = std::filesystem::path(log_file).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent, ec);
  }
  return log::OpenFile(log_file);
}

void AddServeCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto* serve = app.add_subcommand("serve", "Run one service in the foreground");
  serve->require_subcommand(1);
  auto* ims =
      serve->add_subcommand("ims", "The identity service: orgs, developer console, tokens, JWKS");
  struct Opts {
    std::string config, host, public_url, log_file;
    int port = -1;
    int64_t token_lifetime = 0;
  };
  auto opts = std::make_shared<Opts>();
  ims->add_option("--config", opts->config, "JSON config file");
  ims->add_option("--host", opts->host, "Listen address (default 127.0.0.1)");
  ims->add_option("--port", opts->port, "Listen port (default 8480; 0 picks a free one)");
  ims->add_option("--public-url", opts->public_url, "Public base URL (default http://HOST:PORT)");
  ims->add_option("--log-file", opts->log_file, "Write logs here instead of standard error");
  ims->add_option("--token-lifetime", opts->token_lifetime,
                  "Service token lifetime in seconds (default 86400)");
  ims->callback([&flags, &exit_code, opts] {
    CliContext ctx(flags);
    std::map<std::string, std::string> f;
    if (!flags.data.empty()) f["data"] = flags.data;
    if (!opts->host.empty()) f["host"] = opts->host;
    if (opts->port >= 0) f["port"] = std::to_string(opts->port);
    if (!opts->public_url.empty()) f["public_url"] = opts->public_url;
    if (!opts->log_file.empty()) f["log_file"] = opts->log_file;
    if (opts->token_lifetime > 0) f["token_lifetime"] = std::to_string(opts->token_lifetime);
    auto config = Config::Load(opts->config, f,
                               {{"data", "portico-data/ims"},
                                {"host", "127.0.0.1"},
                                {"port", "8480"},
                                {"token_lifetime", "86400"},
                                {"access_log", "true"},
                                {"io_threads", "0"}});
    if (!config.ok()) {
      exit_code = ctx.Fail(config.status());
      return;
    }
    auto port = config->GetInt("port", 8480, 0, 65535);
    auto lifetime = config->GetInt("token_lifetime", 86400);
    auto access_log = config->GetBool("access_log", true);
    auto io_threads = config->GetInt("io_threads", 0, 0, 256);  // 0: one per core
    for (const Status& st :
         {port.status(), lifetime.status(), access_log.status(), io_threads.status()}) {
      if (!st.ok()) {
        exit_code = ctx.Fail(st);
        return;
      }
    }
    if (Status st = OpenServiceLog(config->GetString("log_file")); !st.ok()) {
      exit_code = ctx.Fail(st);
      return;
    }
    BlockStopSignals();
    ims::ImsOptions o;
    o.data_dir = config->GetString("data");
    o.host = config->GetString("host");
    o.port = static_cast<uint16_t>(*port);
    o.public_url = config->GetString("public_url");
    o.service_token_seconds = *lifetime;
    o.access_log = *access_log;
    o.io_threads = static_cast<int>(*io_threads);
    auto svc = ims::ImsService::Start(o);
    if (!svc.ok()) {
      exit_code = ctx.Fail(svc.status());
      return;
    }
    // One line on stdout when serving, for people and for scripts that wait for readiness.
    std::cout << JsonDump({{"service", "ims"}, {"url", (*svc)->url()}, {"port", (*svc)->port()}})
              << std::endl;
    WaitForStopSignal();
    log::Info("stopping", {{"service", "ims"}});
    (*svc)->Stop();
  });
}

}  // namespace portico::cli

// `portico serve author` and the author's client commands: folders, upload, the IMS
// configuration, the portal cloud service and its agents.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>

#include "author/author_service.h"
#include "author/client/author_client.h"
#include "author/publish/publish_service.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "protocol/dam_path.h"

namespace portico::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Runs `fn` with an author client holding the admin's token, printing its result or error.
template <typename Fn>
int WithAuthor(const GlobalFlags& flags, Fn fn) {
  CliContext ctx(flags);
  auto url = ctx.AuthorUrl();
  if (!url.ok()) return ctx.Fail(url.status());
  auto token = ctx.AdminToken();
  if (!token.ok()) return ctx.Fail(token.status());
  author::AuthorClient client(*url, http::ClientOptions{.io_timeout = std::chrono::minutes(10)});
  client.SetToken(*token);
  return fn(ctx, client);
}

int PrintOr(CliContext& ctx, const StatusOr<json>& r,
            const std::function<std::string(const json&)>& text) {
  if (!r.ok()) return ctx.Fail(r.status());
  return ctx.Print(*r, text(*r));
}

// One file to upload and where it goes.
struct UploadItem {
  fs::path file;
  std::string target;
};

// Expands the arguments like `cp -r SRC... DEST/`: a file F goes to DEST/F, a folder D to
// DEST/D/... Also returns the folders to create (DEST/D and every sub-folder, empty ones too).
Status PlanUpload(const std::vector<std::string>& sources, const std::string& dest,
                  std::vector<UploadItem>* items, std::vector<std::string>* folders) {
  for (const auto& src : sources) {
    fs::path p(src);
    std::error_code ec;
    auto status = fs::status(p, ec);
    if (ec || !fs::exists(status)) return NotFound("no such file or folder: " + src);
    fs::path name = p.filename();
    if (name.empty()) name = p.parent_path().filename();  // "folder/" names "folder"
    if (fs::is_regular_file(status)) {
      items->push_back({p, dest + "/" + name.string()});
      continue;
    }
    if (!fs::is_directory(status)) return InvalidArgument(src + " is not a file or a folder");
    const std::string root = dest + "/" + name.string();
    folders->push_back(root);
    std::vector<fs::directory_entry> entries;
    for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      entries.push_back(*it);
    }
    if (ec) return Internal("cannot read the folder " + src + ": " + ec.message());
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const auto& e : entries) {
      std::string rel = fs::relative(e.path(), p).generic_string();
      if (e.is_directory()) {
        folders->push_back(root + "/" + rel);
      } else if (e.is_regular_file()) {
        items->push_back({e.path(), root + "/" + rel});
      }
    }
  }
  return Status::Ok();
}

std::string ListingText(const json& children) {
  std::string out;
  for (const auto& c : children) {
    bool folder = c.value("type", "") == "folder";
    out += (folder ? "d  " : "-  ") + c.value("name", "") + (folder ? "/" : "");
    if (!folder)
      out += "  " + std::to_string(c.value("size", int64_t{0})) + "  v" +
             std::to_string(c.value("version", int64_t{0}));
    out += "\n";
  }
  return out.empty() ? "(empty)" : out;
}

std::string HealthText(const json& h) {
  if (h.value("ok", false)) return h.value("message", "");
  return "check health failed (" + h.value("cause", "") + "): " + h.value("message", "");
}

void AddServeAuthor(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  auto* serve = app.get_subcommand("serve");
  auto* cmd = serve->add_subcommand("author", "The author service: assets, folders, integration");
  struct Opts {
    std::string config, host, public_url, log_file;
    int port = -1;
  };
  auto opts = std::make_shared<Opts>();
  cmd->add_option("--config", opts->config, "JSON config file");
  cmd->add_option("--host", opts->host, "Listen address (default 127.0.0.1)");
  cmd->add_option("--port", opts->port, "Listen port (default 8481; 0 picks a free one)");
  cmd->add_option("--public-url", opts->public_url, "Public base URL (default http://HOST:PORT)");
  cmd->add_option("--log-file", opts->log_file, "Write logs here instead of standard error");
  cmd->callback([&flags, &exit_code, opts] {
    CliContext ctx(flags);
    std::map<std::string, std::string> f;
    if (!flags.data.empty()) f["data"] = flags.data;
    if (!flags.ims.empty()) f["ims"] = flags.ims;
    if (!flags.org.empty()) f["org"] = flags.org;
    if (!opts->host.empty()) f["host"] = opts->host;
    if (opts->port >= 0) f["port"] = std::to_string(opts->port);
    if (!opts->public_url.empty()) f["public_url"] = opts->public_url;
    if (!opts->log_file.empty()) f["log_file"] = opts->log_file;
    auto config = Config::Load(opts->config, f,
                               {{"data", "portico-data/author"},
                                {"host", "127.0.0.1"},
                                {"port", "8481"},
                                {"access_log", "true"},
                                {"agents", "4"},
                                {"upload_lanes", "4"},
                                {"agent_workers", "2"},
                                {"publish_lease_ms", "60000"},
                                {"publish_backoff_ms", "10000"}});
    if (!config.ok()) {
      exit_code = ctx.Fail(config.status());
      return;
    }
    auto port = config->GetInt("port", 8481, 0, 65535);
    auto agents = config->GetInt("agents", 4, 1, 64);
    using PublishOptions = author::publish::PublishOptions;
    auto lanes = config->GetInt("upload_lanes", 4, 1, PublishOptions::kMaxUploadLanes);
    auto agent_workers = config->GetInt("agent_workers", 2, 1, PublishOptions::kMaxAgentWorkers);
    auto access_log = config->GetBool("access_log", true);
    constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
    auto lease_ms = config->GetInt("publish_lease_ms", 60000, 1000, kNoMax);
    auto backoff_ms = config->GetInt("publish_backoff_ms", 10000, 100, kNoMax);
    for (const Status& st : {port.status(), agents.status(), lanes.status(), agent_workers.status(),
                             access_log.status(), lease_ms.status(), backoff_ms.status()}) {
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
    author::AuthorOptions o;
    o.data_dir = config->GetString("data");
    o.host = config->GetString("host");
    o.port = static_cast<uint16_t>(*port);
    o.public_url = config->GetString("public_url");
    o.ims_url = config->GetString("ims");
    o.org = config->GetString("org");
    o.access_log = *access_log;
    o.agent_count = static_cast<int>(*agents);
    o.upload_lanes = static_cast<int>(*lanes);
    o.agent_workers = static_cast<int>(*agent_workers);
    o.publish_lease = std::chrono::milliseconds(*lease_ms);
    o.publish_backoff = std::chrono::milliseconds(*backoff_ms);
    auto svc = author::AuthorService::Start(o);
    if (!svc.ok()) {
      exit_code = ctx.Fail(svc.status());
      return;
    }
    std::cout << JsonDump({{"service", "author"},
                           {"url", (*svc)->url()},
                           {"port", (*svc)->port()},
                           {"author_id", (*svc)->author_id()}})
              << std::endl;
    WaitForStopSignal();
    log::Info("stopping", {{"service", "author"}});
    (*svc)->Stop();
  });
}

void AddAssetCommands(CLI::App* author, GlobalFlags& flags, int& exit_code) {
  {
    auto sources = std::make_shared<std::vector<std::string>>();
    auto to = std::make_shared<std::string>();
    auto* c = author->add_subcommand("upload", "Upload files and folders (folders recursively)");
    c->add_option("source", *sources, "Files or folders")->required();
    c->add_option("--to", *to, "Destination folder, e.g. /content/dam/brand")->required();
    c->callback([&flags, &exit_code, sources, to] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        auto dest = protocol::NormalizeDamPath(*to);
        if (!dest.ok()) return ctx.Fail(dest.status());
        std::vector<UploadItem> items;
        std::vector<std::string> folders;
        if (Status st = PlanUpload(*sources, *dest, &items, &folders); !st.ok())
          return ctx.Fail(st);
        if (*dest != protocol::kDamRoot) {
          if (auto r = client.CreateFolder(*dest, true); !r.ok()) return ctx.Fail(r.status());
        }
        for (const auto& f : folders) {
          if (auto r = client.CreateFolder(f, true); !r.ok()) return ctx.Fail(r.status());
        }
        json out = json::array();
        std::string text;
        for (const auto& item : items) {
          auto r = client.UploadFile(item.file, item.target, true);
          if (!r.ok()) {
            return ctx.Fail(
                Status(r.status().code(), r.status().error(),
                       item.file.string() + " → " + item.target + ": " + r.status().message()));
          }
          out.push_back(
              {{"path", (*r)["path"]}, {"sha256", (*r)["sha256"]}, {"size", (*r)["size"]}});
          text += (*r)["path"].get<std::string>() + "  " +
                  std::to_string((*r)["size"].get<int64_t>()) + " bytes  v" +
                  std::to_string((*r)["version"].get<int64_t>()) + "\n";
        }
        return ctx.Print(out, text.empty() ? "nothing to upload" : text);
      });
    });
  }
  {
    auto path = std::make_shared<std::string>();
    auto* c = author->add_subcommand("ls", "List a folder");
    c->add_option("path", *path, "Folder path (default /content/dam)");
    c->callback([&flags, &exit_code, path] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        return PrintOr(ctx, client.ListFolderAll(path->empty() ? "/content/dam" : *path),
                       ListingText);
      });
    });
  }
  {
    auto path = std::make_shared<std::string>();
    auto parents = std::make_shared<bool>(false);
    auto* c = author->add_subcommand("mkdir", "Create a folder");
    c->add_option("path", *path, "Folder path")->required();
    c->add_flag("-p,--parents", *parents, "Create missing parents; no error if it exists");
    c->callback([&flags, &exit_code, path, parents] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        return PrintOr(ctx, client.CreateFolder(*path, *parents),
                       [](const json& f) { return "created " + f.value("path", ""); });
      });
    });
  }
  {
    auto path = std::make_shared<std::string>();
    auto* c = author->add_subcommand("info", "Show an asset's metadata and versions");
    c->add_option("path", *path, "Asset path")->required();
    c->callback([&flags, &exit_code, path] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        return PrintOr(ctx, client.GetAsset(*path), [](const json& a) { return a.dump(2); });
      });
    });
  }
}

void AddImsCommands(CLI::App* author, GlobalFlags& flags, int& exit_code) {
  auto* ims = author->add_subcommand("ims", "The IMS configuration (A3)");
  ims->require_subcommand(1);
  auto config_text = [](const json& c) {
    return "alias " + c.value("alias", "") + "  certificate " +
           c.value("certificate", json::object()).value("fingerprint_sha256", "") +
           (c.value("account_configured", false) ? "  account " + c.value("client_id", "")
                                                 : "  (no account yet)");
  };
  {
    auto alias = std::make_shared<std::string>();
    auto* c = ims->add_subcommand("create", "Create it: key pair and self-signed certificate");
    c->add_option("--alias", *alias, "A name for the configuration")->required();
    c->callback([&flags, &exit_code, alias, config_text] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        return PrintOr(ctx, client.CreateImsConfig(*alias), config_text);
      });
    });
  }
  ims->add_subcommand("show", "Show it (no secret)")->callback([&flags, &exit_code, config_text] {
    exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
      return PrintOr(ctx, client.GetImsConfig(), config_text);
    });
  });
  {
    auto out = std::make_shared<std::string>();
    auto* c = ims->add_subcommand("certificate", "Download the public certificate (.crt)");
    c->add_option("-o,--output", *out, "Write it to this file (default: standard output)");
    c->callback([&flags, &exit_code, out] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        auto pem = client.GetCertificatePem();
        if (!pem.ok()) return ctx.Fail(pem.status());
        if (out->empty()) {
          if (ctx.json()) return ctx.Print({{"certificate", *pem}}, "");
          std::cout << *pem;
          return 0;
        }
        if (Status st = WriteFileAtomically(*out, *pem, 0644); !st.ok()) return ctx.Fail(st);
        return ctx.Print({{"file", *out}, {"bytes", pem->size()}},
                         "certificate written to " + *out);
      });
    });
  }
  {
    struct Account {
      std::string title, server, client_id, secret, payload;
    };
    auto a = std::make_shared<Account>();
    auto* c = ims->add_subcommand("account", "Set the account of the configuration");
    c->add_option("--title", a->title, "Title");
    c->add_option("--authorization-server", a->server, "Identity service URL (default: --ims)");
    c->add_option("--client-id", a->client_id, "Client id (API key)")->required();
    c->add_option("--client-secret", a->secret, "Client secret")->required();
    c->add_option("--payload", a->payload, "JWT payload: a JSON file or JSON text")->required();
    c->callback([&flags, &exit_code, a, config_text] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        std::string server = a->server;
        if (server.empty()) {
          auto ims_url = ctx.ImsUrl();
          if (!ims_url.ok()) return ctx.Fail(ims_url.status());
          server = *ims_url;
        }
        std::string text = a->payload;
        if (!text.empty() && text.front() != '{') {
          auto file = ReadFile(text, 64 * 1024);
          if (!file.ok()) return ctx.Fail(file.status());
          text = *file;
        }
        auto payload = ParseStrictJson(text, {.max_bytes = 64 * 1024});
        if (!payload.ok()) {
          return ctx.Fail(Status(Code::kInvalidArgument, "invalid_payload",
                                 "--payload: " + payload.status().message()));
        }
        // A whole credential document (console output) is accepted too: take its jwt_payload.
        json p = *payload;
        if (p.is_object() && p.contains("jwt_payload")) p = p["jwt_payload"];
        return PrintOr(ctx,
                       client.SetImsAccount({{"title", a->title},
                                             {"authorization_server", server},
                                             {"client_id", a->client_id},
                                             {"client_secret", a->secret},
                                             {"jwt_payload", p}}),
                       config_text);
      });
    });
  }
  ims->add_subcommand("health", "Check health: obtain a token, or say why not")
      ->callback([&flags, &exit_code] {
        exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
          auto h = client.CheckHealth();
          if (!h.ok()) return ctx.Fail(h.status());
          if (ctx.json()) {
            std::cout << h->dump(2) << "\n";
          } else {
            (h->value("ok", false) ? std::cout : std::cerr) << HealthText(*h) << "\n";
          }
          return h->value("ok", false) ? 0 : 1;
        });
      });
  ims->add_subcommand("regenerate", "Make a new key pair and certificate")
      ->callback([&flags, &exit_code, config_text] {
        exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
          return PrintOr(ctx, client.RegenerateImsKey(), config_text);
        });
      });
  ims->add_subcommand("delete", "Delete the configuration")->callback([&flags, &exit_code] {
    exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
      Status st = client.DeleteImsConfig();
      return st.ok() ? ctx.Print({{"deleted", true}}, "deleted") : ctx.Fail(st);
    });
  });
}

void AddPortalIntegrationCommands(CLI::App* author, GlobalFlags& flags, int& exit_code) {
  auto* cs = author->add_subcommand("cloud-service", "The portal cloud service (A4)");
  cs->require_subcommand(1);
  {
    auto url = std::make_shared<std::string>();
    auto title = std::make_shared<std::string>();
    auto* c = cs->add_subcommand("create", "Bind this author to a portal tenant; makes agents");
    c->add_option("--tenant-url", *url, "The tenant's URL, e.g. http://portal/t/acme")->required();
    c->add_option("--title", *title, "Title");
    c->callback([&flags, &exit_code, url, title] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        return PrintOr(ctx, client.CreateCloudService(*title, *url), [](const json& j) {
          return "cloud service for tenant " + j.value("tenant", "") + " with " +
                 std::to_string(j["agents"].size()) + " agents";
        });
      });
    });
  }
  cs->add_subcommand("show", "Show it")->callback([&flags, &exit_code] {
    exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
      return PrintOr(ctx, client.GetCloudService(), [](const json& j) { return j.dump(2); });
    });
  });

  auto* agent = author->add_subcommand("agent", "Publish agents");
  agent->require_subcommand(1);
  agent->add_subcommand("list", "List the agents")->callback([&flags, &exit_code] {
    exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
      return PrintOr(ctx, client.ListAgents(), [](const json& j) {
        std::string s;
        for (const auto& a : j["agents"]) {
          s += a.value("name", "") + "  " + a.value("state", "");
          if (a["last_test"].is_object())
            s += "  last test: " + a["last_test"].value("message", "");
          s += "\n";
        }
        return s;
      });
    });
  });
  {
    auto name = std::make_shared<std::string>();
    auto all = std::make_shared<bool>(false);
    auto* c = agent->add_subcommand("test", "Test connection: deliver the test package");
    c->add_option("name", *name, "Agent name");
    c->add_flag("--all", *all, "Test every agent");
    c->callback([&flags, &exit_code, name, all] {
      exit_code = WithAuthor(flags, [&](CliContext& ctx, author::AuthorClient& client) {
        std::vector<std::string> names;
        if (*all || name->empty()) {
          auto list = client.ListAgents();
          if (!list.ok()) return ctx.Fail(list.status());
          for (const auto& a : (*list)["agents"]) names.push_back(a.value("name", ""));
        } else {
          names.push_back(*name);
        }
        json results = json::array();
        std::string text;
        bool every_ok = true;
        for (const auto& n : names) {
          auto r = client.TestAgent(n);
          if (!r.ok()) return ctx.Fail(r.status());
          every_ok &= r->value("ok", false);
          text += n + ": " + r->value("message", "") + "\n";
          results.push_back(*r);
        }
        json out = (*all || name->empty()) ? results : results[0];
        if (ctx.json()) {
          std::cout << out.dump(2) << "\n";
        } else {
          (every_ok ? std::cout : std::cerr) << text;
        }
        return every_ok ? 0 : 1;
      });
    });
  }
}

}  // namespace

void AddAuthorCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {
  AddServeAuthor(app, flags, exit_code);
  auto* author = app.add_subcommand("author", "The author: folders, upload, IMS, cloud service");
  author->require_subcommand(1);
  AddAssetCommands(author, flags, exit_code);
  AddImsCommands(author, flags, exit_code);
  AddPortalIntegrationCommands(author, flags, exit_code);
}

}  // namespace portico::cli

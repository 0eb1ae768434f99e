// The portico command's subcommands, each registered on the CLI11 app by one function.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.h"

namespace portico::cli {

// `portico serve ims` — runs one service in the foreground.
void AddServeCommands(CLI::App& app, GlobalFlags& flags, int& exit_code);
// `portico up` — runs every service on the embedded defaults and connects them.
void AddUpCommand(CLI::App& app, GlobalFlags& flags, int& exit_code);
// `portico console ...` — the developer console: projects, APIs, credentials, signing keys.
void AddConsoleCommands(CLI::App& app, GlobalFlags& flags, int& exit_code);
// `portico serve author` and `portico author ...` (upload, folders, integration, publish).
// Called after AddServeCommands: it adds to the `serve` subcommand.
void AddAuthorCommands(CLI::App& app, GlobalFlags& flags, int& exit_code);
// `portico serve portal` and `portico portal ...` (tenants, ls, download).
// Called after AddServeCommands: it adds to the `serve` subcommand.
void AddPortalCommands(CLI::App& app, GlobalFlags& flags, int& exit_code);
// `portico publish PATH... [--later TIME] [--wait]`, `portico unpublish PATH...`,
// `portico publish status|retry`.
void AddPublishCommands(CLI::App& app, GlobalFlags& flags, int& exit_code);
// `portico connect` — connects an author to a portal tenant (SPEC §5); see cli/connect.h.
void AddConnectCommand(CLI::App& app, GlobalFlags& flags, int& exit_code);

// Sends logs to `log_file` when it is not empty, making its folder first (the log may live inside
// a data folder the service has not made yet). Shared by every `serve` command.
Status OpenServiceLog(const std::string& log_file);

// Blocks SIGINT and SIGTERM in the calling thread (call before starting service threads, which
// inherit the mask) and later waits for one of them.
void BlockStopSignals();
int WaitForStopSignal();

}  // namespace portico::cli

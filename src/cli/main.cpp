// portico: one binary for every service and every admin and user flow.
#include <iostream>
#include <string_view>

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Portico: brand assets, distributed. Run 'portico up' to start everything."};
  app.require_subcommand(1);
  app.fallthrough();  // inherited by every subcommand: global flags may come after it
  app.set_version_flag("--version", "portico 0.1.0");
  portico::cli::GlobalFlags flags;
  app.add_option("--data", flags.data,
                 "Data folder of 'portico up' (finds URLs and credentials in portico.json)");
  app.add_option("--ims", flags.ims, "Identity service URL");
  app.add_option("--login", flags.login, "Admin login");
  app.add_option("--password", flags.password, "Admin password");
  app.add_option("--org", flags.org, "Org id to act in");
  app.add_option("--portal", flags.portal, "Portal URL");
  app.add_option("--tenant", flags.tenant, "Portal tenant id");
  app.add_option("--author", flags.author, "Author service URL");
  app.add_flag("--json", flags.json, "Print one JSON document on stdout");
  int exit_code = 0;
  portico::cli::AddServeCommands(app, flags, exit_code);
  portico::cli::AddUpCommand(app, flags, exit_code);
  portico::cli::AddConsoleCommands(app, flags, exit_code);
  portico::cli::AddAuthorCommands(app, flags, exit_code);
  portico::cli::AddPortalCommands(app, flags, exit_code);
  portico::cli::AddPublishCommands(app, flags, exit_code);
  portico::cli::AddConnectCommand(app, flags, exit_code);
  // A parse error can stop CLI11 before it has set --json: look for the flag ourselves.
  bool wants_json = false;
  for (int i = 1; i < argc; ++i) wants_json |= std::string_view(argv[i]) == "--json";
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if ((flags.json || wants_json) && e.get_exit_code() != 0) {
      std::cout
          << nlohmann::json{{"error", "invalid_request"}, {"error_description", e.what()}}.dump(2)
          << "\n";
      return 2;
    }
    return app.exit(e);
  }
  return exit_code;
}

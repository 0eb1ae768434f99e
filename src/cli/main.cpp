// portico: one binary for every service and every admin and user flow.
#include <iostream>

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
  app.add_flag("--json", flags.json, "Print one JSON document on stdout");
  int exit_code = 0;
  portico::cli::AddServeCommands(app, flags, exit_code);
  portico::cli::AddUpCommand(app, flags, exit_code);
  portico::cli::AddConsoleCommands(app, flags, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (flags.json && e.get_exit_code() != 0) {
      std::cout << "{\"error\": \"invalid_request\", \"error_description\": \"" << e.what()
                << "\"}\n";
      return 2;
    }
    return app.exit(e);
  }
  return exit_code;
}

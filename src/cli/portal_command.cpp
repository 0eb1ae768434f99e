// `portico serve portal` and the portal's client commands.
#include "cli/commands.h"

namespace portico::cli {

void AddPortalCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {}

}  // namespace portico::cli

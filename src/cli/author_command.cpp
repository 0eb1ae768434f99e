// `portico serve author` and the author's client commands.
#include "cli/commands.h"

namespace portico::cli {

void AddAuthorCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {}

}  // namespace portico::cli

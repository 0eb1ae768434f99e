// `portico publish`, `portico unpublish` and `portico publish status|retry`.
#include "cli/commands.h"

namespace portico::cli {

void AddPublishCommands(CLI::App& app, GlobalFlags& flags, int& exit_code) {}

}  // namespace portico::cli

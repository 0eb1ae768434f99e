#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace portico {
namespace {

TEST(ConfigTest, FlagsBeatEnvironmentBeatFileBeatDefaults) {
  auto dir = std::filesystem::temp_directory_path() / ("cfg-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "c.json") << R"({"port": 1, "log": {"file": "a.log"}, "host": "file"})";
  setenv("PORTICO_PORT", "2", 1);
  setenv("PORTICO_HOST", "env", 1);
  auto c = Config::Load(dir / "c.json", {{"port", "3"}}, {{"port", "0"}, {"service", "ims"}});
  unsetenv("PORTICO_PORT");
  unsetenv("PORTICO_HOST");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->GetInt("port", 9), 3);
  EXPECT_EQ(c->GetString("host"), "env");
  EXPECT_EQ(c->GetString("log_file"), "a.log");
  EXPECT_EQ(c->GetString("service"), "ims");
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, BadValuesNameTheKey) {
  auto c = Config::Load("", {{"port", "12x"}, {"tls", "maybe"}});
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->GetInt("port", 0).status().message().find("port"), std::string::npos);
  EXPECT_FALSE(c->GetBool("tls", false).ok());
  EXPECT_FALSE(Config::Load("/nonexistent/portico.json", {}).ok());
}

}  // namespace
}  // namespace portico

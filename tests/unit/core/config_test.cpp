#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>

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

TEST(ConfigTest, RangedIntegersNameTheKeyAndTheRange) {
  auto c =
      Config::Load("", {{"port", "70000"}, {"agents", "0"}, {"lease", "999"}, {"lanes", "16"}});
  ASSERT_TRUE(c.ok());
  auto port = c->GetInt("port", 1, 0, 65535);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(port.status().message(), "setting 'port' must be 0 to 65535");
  EXPECT_EQ(c->GetInt("agents", 4, 1, 64).status().message(), "setting 'agents' must be 1 to 64");
  EXPECT_EQ(c->GetInt("lease", 1000, 1000, std::numeric_limits<int64_t>::max()).status().message(),
            "setting 'lease' must be at least 1000");
  EXPECT_EQ(*c->GetInt("lanes", 4, 1, 16), 16);   // the bounds are inclusive
  EXPECT_EQ(*c->GetInt("missing", 7, 1, 16), 7);  // an absent key gives the fallback
}

}  // namespace
}  // namespace portico

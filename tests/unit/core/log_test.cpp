#include "core/log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace portico::log {
namespace {

TEST(LogTest, WritesOneJsonLineWithContextAndRedactsSecrets) {
  auto path =
      std::filesystem::temp_directory_path() / ("log-" + std::to_string(getpid()) + ".jsonl");
  ASSERT_TRUE(OpenFile(path).ok());
  {
    ContextScope scope("ims", "req-1");
    Info("login", {{"login", "admin@example.com"},
                   {"password", "hunter2"},
                   {"nested", {{"client_secret", "s3cr3t"}, {"count", 2}}},
                   {"Authorization", "Bearer abc"}});
  }
  ASSERT_TRUE(OpenFile("/dev/null").ok());
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["service"], "ims");
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["event"], "login");
  EXPECT_EQ(j["login"], "admin@example.com");
  EXPECT_EQ(line.find("hunter2"), std::string::npos);
  EXPECT_EQ(line.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(line.find("Bearer abc"), std::string::npos);
  EXPECT_EQ(j["nested"]["count"], 2);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace portico::log

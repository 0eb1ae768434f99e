#include "core/log.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

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
  // An ISO 8601 UTC time with milliseconds, of today (the date part is cached per second).
  const std::string ts = j["ts"];
  EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << ts;
  char today[16];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(today, sizeof today, "%Y-%m-%d", &tm);
  EXPECT_EQ(ts.substr(0, 10), today) << ts;
  std::filesystem::remove(path);
}

std::vector<std::string> Lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Access-log lines (WritePrebuilt at info) are gathered and written together; they must still
// reach the file on their own, soon, whole and in order, and a warning must carry the lines
// before it to the file when it is written.
TEST(LogTest, GatheredLinesReachTheFileInOrder) {
  auto path =
      std::filesystem::temp_directory_path() / ("log-g-" + std::to_string(getpid()) + ".jsonl");
  ASSERT_TRUE(OpenFile(path).ok());
  for (int i = 0; i < 3; ++i)
    WritePrebuilt(Level::kInfo, "http_request", "\"n\":" + std::to_string(i));
  Warn("after", {{"n", 3}});
  auto lines = Lines(path);  // the warning wrote the three gathered lines first, then itself
  ASSERT_EQ(lines.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(nlohmann::json::parse(lines[i])["n"], i) << lines[i];

  WritePrebuilt(Level::kInfo, "http_request", "\"n\":4");  // nothing else follows it
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Lines(path).size() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  lines = Lines(path);
  ASSERT_EQ(lines.size(), 5u) << "a gathered line never reached the file";
  EXPECT_EQ(nlohmann::json::parse(lines[4])["n"], 4);

  // Many lines at once: all of them, each a whole JSON line.
  std::string big(200, 'x');
  for (int i = 0; i < 500; ++i) {
    WritePrebuilt(Level::kInfo, "http_request",
                  "\"n\":" + std::to_string(5 + i) + ",\"pad\":\"" + big + "\"");
  }
  ASSERT_TRUE(OpenFile("/dev/null").ok());  // switching files writes what is gathered first
  lines = Lines(path);
  ASSERT_EQ(lines.size(), 505u);
  for (int i = 0; i < 505; ++i) EXPECT_EQ(nlohmann::json::parse(lines[i])["n"], i);
  std::filesystem::remove(path);
}

// A child forked while the writing thread waits must log and exit normally (its copy of the
// thread's condition variable still counts the thread that did not survive the fork).
TEST(LogTest, AForkedChildLogsAndExits) {
  auto path =
      std::filesystem::temp_directory_path() / ("log-f-" + std::to_string(getpid()) + ".jsonl");
  ASSERT_TRUE(OpenFile(path).ok());
  WritePrebuilt(Level::kInfo, "http_request", "\"n\":1");      // starts the writing thread
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // it wrote the line and waits
  std::fflush(nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    WritePrebuilt(Level::kInfo, "http_request", "\"n\":2");
    Warn("child_done", {{"n", 3}});
    std::exit(0);  // static destruction: the log stops its (new) thread
  }
  int status = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (waitpid(child, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!WIFEXITED(status)) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    FAIL() << "the forked child hung on exit";
  }
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(OpenFile("/dev/null").ok());
  std::vector<int> seen;
  for (const auto& line : Lines(path)) seen.push_back(nlohmann::json::parse(line)["n"]);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace portico::log

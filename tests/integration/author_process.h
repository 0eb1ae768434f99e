// `portico serve author` as a child process for the author's integration tests: started on a
// free port against a running identity service, stopped (SIGTERM, must exit 0) when destroyed.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace portico::it {

class AuthorProcess {
 public:
  // Starts `portico serve author --data DATA --port 0 --ims IMS --org ORG --log-file
  // DATA/author.log` and waits for its JSON line.
  AuthorProcess(const fs::path& data, const std::string& ims_url, const std::string& org)
      : AuthorProcess(data, {"serve", "author", "--data", data.string(), "--port", "0", "--ims",
                             ims_url, "--org", org, "--log-file", (data / "author.log").string()}) {
  }

  // Any `portico ARGS...` that prints one JSON line with "url" when serving (serve portal too);
  // its standard error goes to DATA/service.stderr.
  AuthorProcess(const fs::path& data, std::vector<std::string> args) : data_(data) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    fs::create_directories(data);
    std::string bin = PorticoBinary();
    args.insert(args.begin(), bin);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      std::string err = (data / "service.stderr").string();
      FILE* e = ::fopen(err.c_str(), "a");
      if (e) ::dup2(::fileno(e), 2);
      ::close(out[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    ready_ = json::parse(line, nullptr, false);
    if (!ready_.is_object() || !ready_.contains("url")) {
      Kill();
      throw std::runtime_error("portico " + args[1] + " " + args[2] + " did not start: '" + line +
                               "'");
    }
  }
  ~AuthorProcess() {
    if (pid_ > 0) Kill();
  }

  std::string url() const { return ready_["url"].get<std::string>(); }
  pid_t pid() const { return pid_; }
  const fs::path& data() const { return data_; }

  // Waits up to `timeout` for the process to end by itself; true when it has, with the signal
  // that ended it (0 for a normal exit) in `signal`.
  bool WaitForExit(std::chrono::seconds timeout, int* signal) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        if (signal) *signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pid_ <= 0;
  }

  // A field of /proc/PID/status in kB (VmRSS, VmHWM), or -1.
  int64_t ProcStatusKb(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    while (in >> key) {
      if (key == field + ":") {
        int64_t v = -1;
        in >> v;
        return v;
      }
      std::string rest;
      std::getline(in, rest);
    }
    return -1;
  }

  // SIGTERM and wait: the exit status (-1 for a signal).
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  void Kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  fs::path data_;
  pid_t pid_ = -1;
  json ready_;
};

}  // namespace portico::it

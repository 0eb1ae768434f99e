#include "portal_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace portico::it {

std::unique_ptr<PortalProcess> PortalProcess::Start(const fs::path& data,
                                                    const std::string& ims_url) {
  std::vector<std::string> argv = {PorticoBinary(),
                                   "serve",
                                   "portal",
                                   "--data",
                                   data.string(),
                                   "--port",
                                   "0",
                                   "--ims",
                                   ims_url,
                                   "--log-file",
                                   (data / "portal.log").string()};
  std::unique_ptr<PortalProcess> p(new PortalProcess());
  p->data_ = data;
  p->stderr_file_ = data.parent_path() / (data.filename().string() + ".stderr");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int err_fd =
      ::open(p->stderr_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  p->pid_ = ::fork();
  if (p->pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD}) ::signal(sig, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(err_fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(null_fd);
  ::close(err_fd);
  if (p->pid_ < 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start portico serve portal");
  }
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  char buf[4096];
  while (text.find('\n') == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) break;
    pollfd pfd{out[0], POLLIN, 0};
    if (::poll(&pfd, 1, 500) <= 0) continue;
    ssize_t got = ::read(out[0], buf, sizeof buf);
    if (got <= 0) break;
    text.append(buf, static_cast<size_t>(got));
  }
  ::close(out[0]);
  json ready = json::parse(text.substr(0, text.find('\n')), nullptr, false);
  if (!ready.is_object() || !ready.contains("url")) {
    p->Stop(std::chrono::seconds(5));
    throw std::runtime_error("portico serve portal did not start; stdout: " + text +
                             "\nstderr: " + p->Stderr());
  }
  p->url_ = ready["url"].get<std::string>();
  return p;
}

PortalProcess::~PortalProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool PortalProcess::Running() {
  if (exited_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return false;
  }
  return true;
}

int PortalProcess::Stop(std::chrono::seconds timeout) {
  if (exited_) return exit_status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) return exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  exit_status_ = -2;
  return exit_status_;
}

std::string PortalProcess::Stderr() const {
  std::ifstream in(stderr_file_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace portico::it

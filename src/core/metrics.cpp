#include "core/metrics.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace portico {
namespace {

constexpr std::array<double, 13> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  10};

void AppendEscapedLabel(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

// The series key of a sample; built on every request, so in one buffer without temporaries.
std::string RenderLabels(const MetricLabels& labels) {
  size_t size = 0;
  for (const auto& [k, v] : labels) size += k.size() + v.size() + 4;
  std::string out;
  out.reserve(size);
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    AppendEscapedLabel(out, v);
    out += '"';
  }
  return out;
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string WithLabels(const std::string& name, const std::string& labels,
                       const std::string& extra = "") {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? name : name + "{" + all + "}";
}

}  // namespace

void Metrics::Describe(std::string name, std::string type, std::string help) {
  std::lock_guard lock(mutex_);
  auto& f = families_[std::move(name)];
  f.type = std::move(type);
  f.help = std::move(help);
}

void Metrics::Increment(std::string_view name, const MetricLabels& labels, double by) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  it->second.values[key] += by;
}

void Metrics::Set(std::string_view name, const MetricLabels& labels, double value) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  it->second.values[key] = value;
}

void Metrics::Observe(std::string_view name, const MetricLabels& labels, double value) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  auto& h = it->second.histograms[key];
  if (h.counts.empty()) h.counts.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (value <= kBuckets[i]) {
      h.counts[i] += 1;
      break;
    }
  }
  h.sum += value;
  h.count += 1;
}

std::string Metrics::Render() const {
  std::ostringstream out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, f] : families_) {
      if (!f.help.empty()) out << "# HELP " << name << " " << f.help << "\n";
      out << "# TYPE " << name << " " << f.type << "\n";
      for (const auto& [labels, v] : f.values)
        out << WithLabels(name, labels) << " " << Number(v) << "\n";
      for (const auto& [labels, h] : f.histograms) {
        double cumulative = 0;
        for (size_t i = 0; i < kBuckets.size(); ++i) {
          cumulative += h.counts[i];
          out << WithLabels(name + "_bucket", labels, "le=\"" + Number(kBuckets[i]) + "\"") << " "
              << Number(cumulative) << "\n";
        }
        out << WithLabels(name + "_bucket", labels, "le=\"+Inf\"") << " " << Number(h.count)
            << "\n";
        out << WithLabels(name + "_sum", labels) << " " << Number(h.sum) << "\n";
        out << WithLabels(name + "_count", labels) << " " << Number(h.count) << "\n";
      }
    }
  }
  // Process figures, read fresh at every scrape.
  long page = sysconf(_SC_PAGESIZE);
  long ticks = sysconf(_SC_CLK_TCK);
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  if (statm >> size >> resident) {
    out << "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "
        << resident * page << "\n";
  }
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close_paren = content.rfind(')');
  if (close_paren != std::string::npos) {
    std::istringstream fields(content.substr(close_paren + 2));
    std::string f;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
    }
    out << "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "
        << Number((utime + stime) / static_cast<double>(ticks)) << "\n";
  }
  return out.str();
}

}  // namespace portico

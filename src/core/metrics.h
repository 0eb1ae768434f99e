// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format at /metrics. One registry per service. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // Declares a metric's help text and type ("counter", "gauge", "histogram"). Optional; an
  // undeclared metric is rendered as untyped.
  void Describe(std::string name, std::string type, std::string help);
  void Increment(std::string_view name, const MetricLabels& labels = {}, double by = 1);
  void Set(std::string_view name, const MetricLabels& labels, double value);
  // Records one observation into a histogram with latency buckets from 0.5 ms to 10 s.
  void Observe(std::string_view name, const MetricLabels& labels, double value);
  // The exposition text, with process_resident_memory_bytes and process_cpu_seconds_total.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<double> counts;  // one per bucket, cumulative at render time
    double sum = 0;
    double count = 0;
  };
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<std::string, double> values;         // rendered labels -> value
    std::map<std::string, Histogram> histograms;  // rendered labels -> histogram
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace portico

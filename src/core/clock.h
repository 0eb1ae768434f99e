// The time source every rule reads, so tests can set and advance it. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace portico {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Seconds and milliseconds since the Unix epoch.
  int64_t NowSeconds() const;
  int64_t NowMillis() const;
};

// The real wall clock; a process-wide instance.
Clock& SystemClock();

// A clock that stands still until told to move.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t epoch_seconds = 1'800'000'000) : millis_(epoch_seconds * 1000) {}
  std::chrono::system_clock::time_point Now() const override;
  void Advance(std::chrono::milliseconds by) { millis_ += by.count(); }
  void SetSeconds(int64_t epoch_seconds) { millis_ = epoch_seconds * 1000; }

 private:
  std::atomic<int64_t> millis_;
};

}  // namespace portico

#include "core/clock.h"

namespace portico {
namespace {

class RealClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace

int64_t Clock::NowSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
}

int64_t Clock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Now().time_since_epoch()).count();
}

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

std::chrono::system_clock::time_point FakeClock::Now() const {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis_.load()));
}

}  // namespace portico

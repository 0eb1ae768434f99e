#include "author/service/token_provider.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace portico::author {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Hands out tokens "t1", "t2", ... living `lifetime`, or fails when told to.
class FakeExchanger final : public TokenExchanger {
 public:
  FakeExchanger(const Clock& clock, milliseconds lifetime) : clock_(clock), lifetime_(lifetime) {}
  StatusOr<AccessToken> Exchange() override {
    int n = ++calls;
    if (fail) return Status(Code::kUnavailable, "server_unreachable", "identity service down");
    int64_t now = clock_.NowMillis();
    return AccessToken{"t" + std::to_string(n), now, now + lifetime_.count()};
  }
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};

 private:
  const Clock& clock_;
  milliseconds lifetime_;
};

TEST(TokenProviderTest, RenewsAMarginBeforeExpiry) {
  FakeClock clock;
  FakeExchanger ex(clock, std::chrono::hours(24));
  TokenProvider p(ex, {.renew_margin = std::chrono::minutes(5), .clock = &clock});
  EXPECT_EQ(p.Get().value(), "t1");
  clock.Advance(std::chrono::hours(23));
  EXPECT_EQ(p.Get().value(), "t1");
  clock.Advance(std::chrono::minutes(54));  // 6 minutes before expiry: still held
  EXPECT_EQ(p.Get().value(), "t1");
  clock.Advance(std::chrono::minutes(1) + seconds(1));  // inside the 5-minute margin
  EXPECT_EQ(p.Get().value(), "t2");
  EXPECT_EQ(ex.calls, 2);
}

TEST(TokenProviderTest, ShortLivedTokensRenewAtHalfTheirLife) {
  FakeClock clock;
  FakeExchanger ex(clock, seconds(4));
  TokenProvider p(ex, {.renew_margin = std::chrono::minutes(5), .clock = &clock});
  EXPECT_EQ(p.Get().value(), "t1");
  clock.Advance(milliseconds(1900));
  EXPECT_EQ(p.Get().value(), "t1");  // not renewed on every call
  clock.Advance(milliseconds(100));
  EXPECT_EQ(p.Get().value(), "t2");
  EXPECT_EQ(ex.calls, 2);
}

TEST(TokenProviderTest, InvalidateRenewsExactlyOnceForManyCallers) {
  FakeClock clock;
  FakeExchanger ex(clock, std::chrono::hours(24));
  TokenProvider p(ex, {.clock = &clock});
  std::string refused = p.Get().value();
  std::vector<std::thread> threads;
  std::atomic<int> got_t2{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      p.Invalidate(refused);  // every caller saw the same 401
      if (p.Get().value() == "t2") ++got_t2;
    });
  }
  for (auto& t : threads) t.join();
  // A late report of the old token changes nothing.
  p.Invalidate(refused);
  EXPECT_EQ(p.Get().value(), "t2");
  EXPECT_EQ(ex.calls, 2);
  EXPECT_EQ(got_t2, 8);
}

TEST(TokenProviderTest, KeepsAValidTokenWhileTheExchangeFailsThenFails) {
  FakeClock clock;
  FakeExchanger ex(clock, seconds(600));
  TokenProvider p(
      ex, {.renew_margin = seconds(60), .retry_after_failure = seconds(5), .clock = &clock});
  EXPECT_EQ(p.Get().value(), "t1");
  ex.fail = true;
  clock.Advance(seconds(550));  // due for renewal, still valid
  EXPECT_EQ(p.Get().value(), "t1");
  EXPECT_EQ(ex.calls, 2);
  clock.Advance(seconds(1));
  EXPECT_EQ(p.Get().value(), "t1");  // within retry_after_failure: no new attempt
  EXPECT_EQ(ex.calls, 2);
  clock.Advance(seconds(60));  // expired
  auto r = p.Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error(), "server_unreachable");
  ex.fail = false;
  EXPECT_EQ(p.Get().value(), "t4");
}

TEST(TokenProviderTest, ResetDropsTheToken) {
  FakeClock clock;
  FakeExchanger ex(clock, std::chrono::hours(1));
  TokenProvider p(ex, {.clock = &clock});
  EXPECT_EQ(p.Get().value(), "t1");
  p.Reset();
  EXPECT_EQ(p.Get().value(), "t2");
  EXPECT_EQ(p.exchanges(), 2);
}

}  // namespace
}  // namespace portico::author

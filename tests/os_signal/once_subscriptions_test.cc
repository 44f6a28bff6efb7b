// The handler map's record of once subscriptions (os_signal/once.h): what a
// delivery releases, and that dropping the last thing a subscriber wanted
// once leaves no entry behind, so that empty() (which turns the handler
// map's fast paths and its once-free fan-out back on) says so.
#include <signal.h>

#include "gtest/gtest.h"
#include "os_signal/once.h"

namespace portsig {
namespace os_signal_internal {
namespace {

class FakeSubscriber final : public Subscriber {
 public:
  bool Deliver(const Delivery&, BeforePublish*) override { return true; }
};

runtime::ReceivedSignal Received(int signo) {
  runtime::ReceivedSignal received;
  received.signo = signo;
  return received;
}

TEST(OnceSubscriptionsTest, DroppingTheLastOnceSignalLeavesItEmpty) {
  OnceSubscriptions once;
  FakeSubscriber a;
  const Signal usr1(SIGUSR1), usr2(SIGUSR2);
  once.Set(&a, {usr1, usr2}, /*once=*/true, /*releases_all=*/false);
  EXPECT_FALSE(once.empty());
  EXPECT_TRUE(once.Releases(&a, Received(SIGUSR1)));
  once.DropSignal(&a, SIGUSR1);  // Released, or Stop of that signal.
  EXPECT_FALSE(once.Releases(&a, Received(SIGUSR1)));
  EXPECT_TRUE(once.Releases(&a, Received(SIGUSR2)));
  EXPECT_FALSE(once.empty());
  once.DropSignal(&a, SIGUSR2);
  EXPECT_FALSE(once.Releases(&a, Received(SIGUSR2)));
  EXPECT_TRUE(once.empty());
  EXPECT_TRUE(once.none());
}

TEST(OnceSubscriptionsTest, DroppingTheLastOnceNoteLeavesItEmpty) {
  OnceSubscriptions once;
  FakeSubscriber a;
  once.Set(&a, {Signal::Note("reload")}, /*once=*/true,
           /*releases_all=*/false);
  EXPECT_FALSE(once.empty());
  once.DropNote(&a, "reload");
  EXPECT_TRUE(once.empty());
  once.Set(&a, {}, /*once=*/true, /*releases_all=*/false);  // Everything.
  for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
    once.DropSignal(&a, signo);
  }
  EXPECT_FALSE(once.empty()) << "every note is still relayed once";
  once.DropAllNotes(&a);
  EXPECT_TRUE(once.empty());
}

TEST(OnceSubscriptionsTest, AnotherSubscribersEntryStays) {
  OnceSubscriptions once;
  FakeSubscriber a, b;
  const Signal usr1(SIGUSR1);
  once.Set(&a, {usr1}, /*once=*/true, /*releases_all=*/false);
  once.Set(&b, {usr1}, /*once=*/true, /*releases_all=*/false);
  once.DropSignal(&a, SIGUSR1);
  EXPECT_FALSE(once.empty());
  EXPECT_FALSE(once.Releases(&a, Received(SIGUSR1)));
  EXPECT_TRUE(once.Releases(&b, Received(SIGUSR1)));
  // A later plain Notify of `a` finds nothing of its own to unmark.
  once.Set(&a, {usr1}, /*once=*/false, /*releases_all=*/false);
  EXPECT_TRUE(once.Releases(&b, Received(SIGUSR1)));
}

}  // namespace
}  // namespace os_signal_internal
}  // namespace portsig

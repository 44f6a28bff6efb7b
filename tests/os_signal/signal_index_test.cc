// The handler map's per-signal index (os_signal/signal_index.h): membership
// stays right as removals move the last member into the hole, and a slot
// left from an earlier membership is not mistaken for a current one.
#include "os_signal/signal_index.h"

#include <signal.h>

#include <algorithm>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portsig {
namespace os_signal_internal {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

class FakeSubscriber final : public Subscriber {
 public:
  bool Deliver(const Delivery&, BeforePublish*) override { return true; }
};

TEST(SignalIndexTest, EraseMovesTheLastMemberAndKeepsItFindable) {
  SignalIndex index;
  FakeSubscriber a, b, c;
  EXPECT_TRUE(index.Insert(SIGUSR1, &a));
  EXPECT_TRUE(index.Insert(SIGUSR1, &b));
  EXPECT_TRUE(index.Insert(SIGUSR1, &c));
  EXPECT_FALSE(index.Insert(SIGUSR1, &b));
  EXPECT_TRUE(index.Erase(SIGUSR1, &a));  // c moves into a's place.
  EXPECT_THAT(index.Of(SIGUSR1), UnorderedElementsAre(&b, &c));
  EXPECT_FALSE(index.Contains(SIGUSR1, &a));
  EXPECT_TRUE(index.Contains(SIGUSR1, &c));
  EXPECT_TRUE(index.Erase(SIGUSR1, &c));  // Found at its new place.
  EXPECT_FALSE(index.Erase(SIGUSR1, &c));
  EXPECT_THAT(index.Of(SIGUSR1), UnorderedElementsAre(&b));
  EXPECT_TRUE(index.Erase(SIGUSR1, &b));
  EXPECT_THAT(index.Of(SIGUSR1), IsEmpty());
}

TEST(SignalIndexTest, AStaleSlotIsNotMembership) {
  SignalIndex index;
  FakeSubscriber a, b;
  ASSERT_TRUE(index.Insert(SIGUSR1, &a));
  ASSERT_TRUE(index.Erase(SIGUSR1, &a));
  // b now sits where a's remembered slot points.
  ASSERT_TRUE(index.Insert(SIGUSR1, &b));
  EXPECT_FALSE(index.Contains(SIGUSR1, &a));
  EXPECT_FALSE(index.Erase(SIGUSR1, &a));
  EXPECT_THAT(index.Of(SIGUSR1), UnorderedElementsAre(&b));
  // A signal a was never a member of.
  EXPECT_FALSE(index.Contains(SIGUSR2, &a));
}

TEST(SignalIndexTest, SignalsAreIndependent) {
  SignalIndex index;
  FakeSubscriber a, b;
  ASSERT_TRUE(index.Insert(SIGUSR1, &a));
  ASSERT_TRUE(index.Insert(SIGUSR2, &b));
  ASSERT_TRUE(index.Insert(SIGUSR2, &a));
  ASSERT_TRUE(index.Erase(SIGUSR2, &b));  // a moves to slot 0 of SIGUSR2.
  EXPECT_TRUE(index.Contains(SIGUSR1, &a));
  EXPECT_TRUE(index.Contains(SIGUSR2, &a));
  EXPECT_FALSE(index.Contains(SIGUSR1, &b));
  EXPECT_TRUE(index.Erase(SIGUSR1, &a));
  EXPECT_TRUE(index.Contains(SIGUSR2, &a));
}

// Many members removed in an arbitrary order: each removal leaves exactly
// the rest, all still findable (a slot not updated by a move would lose one).
TEST(SignalIndexTest, ManyRemovalsKeepTheRest) {
  SignalIndex index;
  std::vector<FakeSubscriber> subscribers(64);
  std::vector<Subscriber*> left;
  for (auto& s : subscribers) {
    ASSERT_TRUE(index.Insert(SIGUSR1, &s));
    left.push_back(&s);
  }
  for (size_t i = 0; !left.empty(); ++i) {
    const size_t pick = (i * 37) % left.size();
    Subscriber* gone = left[pick];
    left.erase(left.begin() + pick);
    ASSERT_TRUE(index.Erase(SIGUSR1, gone));
    ASSERT_THAT(index.Of(SIGUSR1), UnorderedElementsAreArray(left));
    for (Subscriber* s : left) ASSERT_TRUE(index.Contains(SIGUSR1, s));
  }
}

}  // namespace
}  // namespace os_signal_internal
}  // namespace portsig

// RecordRing (platform/record_ring.h): order, the overflow summary and its
// rule that later occurrences join it (also while the receiver is taking
// it, driven through the test hooks), the receiver's limit, capacity
// changes, laps, Reset, and nothing lost or reordered per sender under
// concurrent pushes.
#include "platform/record_ring.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "platform/signal_record.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {
namespace {

// A record that says which occurrence it is.
SignalRecord Numbered(int32_t n, int32_t sender = 0) {
  SignalRecord record;
  record.code = SI_QUEUE;
  record.pid = sender;
  record.has_value = true;
  record.value = n;
  return record;
}

struct Popped {
  uint64_t count;
  intptr_t value;
};

// Everything Pop returns until it returns 0.
std::vector<Popped> PopAll(RecordRing& ring, uint64_t limit = UINT64_MAX) {
  std::vector<Popped> out;
  SignalRecord record;
  while (uint64_t n = ring.Pop(&record, limit))
    out.push_back({n, record.value});
  return out;
}

TEST(RecordRingTest, OffByDefaultEveryPushGoesToTheSummary) {
  RecordRing ring;
  EXPECT_EQ(ring.capacity(), 0u);
  EXPECT_FALSE(ring.Push(Numbered(1)));
  EXPECT_FALSE(ring.Push(Numbered(2)));
  const std::vector<Popped> popped = PopAll(ring);
  ASSERT_EQ(popped.size(), 1u);
  EXPECT_EQ(popped[0].count, 2u);
  EXPECT_EQ(popped[0].value, 2);
}

TEST(RecordRingTest, RecordsComeOutInPushOrder) {
  RecordRing ring;
  ring.set_capacity(4);
  for (int i = 1; i <= 4; ++i) EXPECT_TRUE(ring.Push(Numbered(i)));
  const std::vector<Popped> popped = PopAll(ring);
  ASSERT_EQ(popped.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(popped[i].count, 1u);
    EXPECT_EQ(popped[i].value, i + 1);
  }
  SignalRecord record;
  EXPECT_EQ(ring.Pop(&record), 0u);
}

TEST(RecordRingTest, OverflowIsSummarizedAfterTheQueuedRecords) {
  RecordRing ring;
  ring.set_capacity(2);
  EXPECT_TRUE(ring.Push(Numbered(1)));
  EXPECT_TRUE(ring.Push(Numbered(2)));
  EXPECT_FALSE(ring.Push(Numbered(3)));
  EXPECT_FALSE(ring.Push(Numbered(4)));
  EXPECT_FALSE(ring.Push(Numbered(5)));
  const std::vector<Popped> popped = PopAll(ring);
  ASSERT_EQ(popped.size(), 3u);
  EXPECT_EQ(popped[0].value, 1);
  EXPECT_EQ(popped[1].value, 2);
  // One record, the newest overflowed one, with the count of all three.
  EXPECT_EQ(popped[2].count, 3u);
  EXPECT_EQ(popped[2].value, 5);
}

// Room freed by a Pop does not let a later occurrence overtake the ones in
// the summary: until the summary is taken, every Push joins it.
TEST(RecordRingTest, PushesJoinAPendingSummaryEvenWithRoom) {
  RecordRing ring;
  ring.set_capacity(2);
  EXPECT_TRUE(ring.Push(Numbered(1)));
  EXPECT_TRUE(ring.Push(Numbered(2)));
  EXPECT_FALSE(ring.Push(Numbered(3)));
  SignalRecord record;
  ASSERT_EQ(ring.Pop(&record), 1u);
  EXPECT_EQ(record.value, 1);
  EXPECT_FALSE(ring.Push(Numbered(4))) << "overtook the pending summary";
  const std::vector<Popped> popped = PopAll(ring);
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[0].value, 2);
  EXPECT_EQ(popped[1].count, 2u);
  EXPECT_EQ(popped[1].value, 4);
  // Once taken, the ring queues again.
  EXPECT_TRUE(ring.Push(Numbered(5)));
  ASSERT_EQ(ring.Pop(&record), 1u);
  EXPECT_EQ(record.value, 5);
}

// Sets a test hook for one test; it is cleared again however the test ends.
class ScopedHook {
 public:
  ScopedHook(std::atomic<test_hooks::Hook>& hook, test_hooks::Hook fn)
      : hook_(hook) {
    hook_.store(fn);
  }
  ~ScopedHook() { hook_.store(nullptr); }

 private:
  std::atomic<test_hooks::Hook>& hook_;
};

// What the hooks below act on: one sender, whose next occurrence is
// `g_next`, sends `g_burst` occurrences into `g_ring` when a hook fires
// (once: the hook clears itself).
RecordRing* g_ring = nullptr;
int32_t g_next = 0;
int g_burst = 0;

void SendBurst() {
  for (int i = 0; i < g_burst; ++i) g_ring->Push(Numbered(g_next++));
}
void SendBurstOnceAsRingIsTaken(int) {
  test_hooks::ring_taking.store(nullptr);
  SendBurst();
}
void SendBurstOnceAsCountIsTaken(int) {
  test_hooks::latest_record_taking.store(nullptr);
  SendBurst();
}

// The values one sender's occurrences came out with must never go back (a
// summary may show the same occurrence as the delivery before it), and the
// counts must add up to `sent`.
void ExpectInOrderAndComplete(const std::vector<Popped>& popped,
                              uint64_t sent) {
  uint64_t total = 0;
  intptr_t last = 0;
  for (size_t i = 0; i < popped.size(); ++i) {
    EXPECT_GE(popped[i].value, last)
        << "delivery " << i << " (count " << popped[i].count
        << ") came out after a newer occurrence";
    last = popped[i].value;
    total += popped[i].count;
  }
  EXPECT_EQ(total, sent);
}

// The receiver finds the ring empty, with no summary, and starts taking the
// summary; meanwhile the sender fills the ring and overflows it. Had those
// records gone into the ring, the summary taken now would show the newest
// of them ahead of the older ones still queued.
TEST(RecordRingTest, PushesWhileTheReceiverStartsTakingTheSummaryJoinIt) {
  RecordRing ring;
  ring.set_capacity(2);
  g_ring = &ring;
  g_next = 1;
  g_burst = 3;
  ScopedHook hook(test_hooks::ring_taking, &SendBurstOnceAsRingIsTaken);
  const std::vector<Popped> popped = PopAll(ring);
  ASSERT_EQ(g_next, 4) << "the hook did not run";
  ExpectInOrderAndComplete(popped, 3);
}

// The same while the summary's count has been taken and its record not yet
// read: the count no longer says "pending", but the ring must still not
// take the sender's occurrences.
TEST(RecordRingTest, PushesWhileTheSummaryIsBeingTakenJoinIt) {
  RecordRing ring;
  ring.set_capacity(2);
  for (int i = 1; i <= 2; ++i) ASSERT_TRUE(ring.Push(Numbered(i)));
  ASSERT_FALSE(ring.Push(Numbered(3)));
  std::vector<Popped> popped;
  SignalRecord record;
  for (int i = 1; i <= 2; ++i) {
    ASSERT_EQ(ring.Pop(&record), 1u);
    popped.push_back({1, record.value});
  }
  g_ring = &ring;
  g_next = 4;
  g_burst = 3;
  ScopedHook hook(test_hooks::latest_record_taking,
                  &SendBurstOnceAsCountIsTaken);
  for (const Popped& p : PopAll(ring)) popped.push_back(p);
  ASSERT_EQ(g_next, 7) << "the hook did not run";
  ExpectInOrderAndComplete(popped, 6);
  // Afterwards the ring queues again.
  EXPECT_TRUE(ring.Push(Numbered(7)));
}

// A Push that chose the ring before the receiver began taking the summary
// and claims its cell only while it is being taken: it must not get the
// cell (its sender's later occurrences join the summary meanwhile, and the
// summary would come out ahead of it).
Notification* g_sender_at_claim = nullptr;
Notification* g_sender_may_claim = nullptr;
Notification* g_sender_done = nullptr;
std::atomic<bool> g_claim_paused{false};

void PauseFirstClaim(int) {
  if (g_claim_paused.exchange(true)) return;
  g_sender_at_claim->Notify();
  g_sender_may_claim->WaitForNotification();
}
void LetTheSenderClaimAndFinish(int) {
  test_hooks::ring_taking.store(nullptr);
  g_sender_may_claim->Notify();
  g_sender_done->WaitForNotification();
}

TEST(RecordRingTest, APushThatChoseTheRingBeforeTheTakeCannotClaimDuringIt) {
  constexpr int kCapacity = 4;
  RecordRing ring;
  ring.set_capacity(kCapacity);
  Notification at_claim, may_claim, done;
  g_sender_at_claim = &at_claim;
  g_sender_may_claim = &may_claim;
  g_sender_done = &done;
  g_claim_paused = false;
  ScopedHook claiming(test_hooks::ring_push_claiming, &PauseFirstClaim);
  std::thread sender([&] {
    for (int i = 1; i <= kCapacity + 1; ++i) ring.Push(Numbered(i));
    done.Notify();
  });
  at_claim.WaitForNotification();
  std::vector<Popped> popped;
  {
    ScopedHook taking(test_hooks::ring_taking, &LetTheSenderClaimAndFinish);
    popped = PopAll(ring);
  }
  const bool took_summary = may_claim.HasBeenNotified();
  if (!took_summary) may_claim.Notify();  // Let the sender finish.
  sender.join();
  ASSERT_TRUE(took_summary) << "the receiver never took the summary";
  for (const Popped& p : PopAll(ring)) popped.push_back(p);
  ExpectInOrderAndComplete(popped, kCapacity + 1);
}

// A receiver that stops at WritePosition() takes what was queued when it
// began, and neither later records nor the summary.
TEST(RecordRingTest, PopStopsAtTheLimit) {
  RecordRing ring;
  ring.set_capacity(8);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(ring.Push(Numbered(i)));
  const uint64_t limit = ring.WritePosition();
  EXPECT_EQ(limit, 3u);
  for (int i = 4; i <= 8; ++i) ASSERT_TRUE(ring.Push(Numbered(i)));
  EXPECT_FALSE(ring.Push(Numbered(9)));  // Summary pending.
  std::vector<Popped> popped = PopAll(ring, limit);
  ASSERT_EQ(popped.size(), 3u);
  EXPECT_EQ(popped[2].value, 3);
  popped = PopAll(ring);
  ASSERT_EQ(popped.size(), 6u);
  EXPECT_EQ(popped[0].value, 4);
  EXPECT_EQ(popped[4].value, 8);
  EXPECT_EQ(popped[5].count, 1u);
  EXPECT_EQ(popped[5].value, 9);
}

TEST(RecordRingTest, LoweringTheCapacityKeepsWhatIsQueued) {
  RecordRing ring;
  ring.set_capacity(4);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(ring.Push(Numbered(i)));
  ring.set_capacity(1);
  EXPECT_FALSE(ring.Push(Numbered(4)));
  ring.set_capacity(0);
  EXPECT_FALSE(ring.Push(Numbered(5)));
  const std::vector<Popped> popped = PopAll(ring);
  ASSERT_EQ(popped.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(popped[i].value, i + 1);
  EXPECT_EQ(popped[3].count, 2u);
  EXPECT_EQ(popped[3].value, 5);
}

// Many laps of the cells: order holds across the wrap, at full capacity.
TEST(RecordRingTest, OrderHoldsAcrossLaps) {
  RecordRing ring;
  ring.set_capacity(kMaxQueueCapacity);
  int32_t next_push = 0, next_pop = 0;
  SignalRecord record;
  for (int lap = 0; lap < 5; ++lap) {
    uint32_t queued = 0;
    while (ring.Push(Numbered(next_push++))) ++queued;
    EXPECT_EQ(queued, kMaxQueueCapacity);
    for (uint32_t i = 0; i < queued; ++i) {
      ASSERT_EQ(ring.Pop(&record), 1u);
      ASSERT_EQ(record.value, next_pop++);
    }
    // The push that found it full, as the summary.
    ASSERT_EQ(ring.Pop(&record), 1u);
    EXPECT_EQ(record.value, next_pop++);
    EXPECT_EQ(ring.Pop(&record), 0u);
  }
  EXPECT_EQ(next_pop, next_push);
}

TEST(RecordRingTest, ResetForgetsRecordsAndSummaryButKeepsTheCapacity) {
  RecordRing ring;
  ring.set_capacity(2);
  ASSERT_TRUE(ring.Push(Numbered(1)));
  ASSERT_TRUE(ring.Push(Numbered(2)));
  ASSERT_FALSE(ring.Push(Numbered(3)));
  ring.Reset();
  EXPECT_EQ(ring.capacity(), 2u);
  SignalRecord record;
  EXPECT_EQ(ring.Pop(&record), 0u);
  EXPECT_TRUE(ring.Push(Numbered(4)));
  ASSERT_EQ(ring.Pop(&record), 1u);
  EXPECT_EQ(record.value, 4);
}

// Senders on several threads, one receiver popping meanwhile: every
// occurrence comes out (queued, or counted in a summary), and one sender's
// occurrences come out in the order it sent them.
TEST(RecordRingTest, ConcurrentSendersLoseNothingAndKeepTheirOrder) {
  constexpr int kSenders = 4;
  constexpr int kPerSender = 50000;
  RecordRing ring;
  ring.set_capacity(16);
  std::atomic<int> senders_done{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (int i = 1; i <= kPerSender; ++i) ring.Push(Numbered(i, s));
      senders_done++;
    });
  }
  uint64_t total = 0;
  intptr_t last[kSenders] = {};
  int out_of_order = 0;
  SignalRecord record;
  for (;;) {
    const bool all_done = senders_done.load() == kSenders;
    uint64_t n;
    while ((n = ring.Pop(&record)) != 0) {
      total += n;
      ASSERT_GE(record.pid, 0);
      ASSERT_LT(record.pid, kSenders);
      // A summary may show the same occurrence as the one before it.
      if (record.value < last[record.pid]) ++out_of_order;
      last[record.pid] = record.value;
    }
    if (all_done) break;
    std::this_thread::yield();
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(total, uint64_t{kSenders} * kPerSender);
  EXPECT_EQ(out_of_order, 0);
}

}  // namespace
}  // namespace platform
}  // namespace portsig

// RecordRing (platform/record_ring.h): order, the overflow summary and its
// rule that later occurrences join it, the receiver's limit, capacity
// changes, laps, Reset, and nothing lost or reordered per sender under
// concurrent pushes.
#include "platform/record_ring.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "platform/signal_record.h"

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

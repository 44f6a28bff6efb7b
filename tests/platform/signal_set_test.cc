// AtomicSignalSet (platform/signal_set.h): every slot from 0 to kMaxSignal,
// word boundaries, TakeWord's take-and-clear, and, with adders on several
// threads and one taker, every first Add taken exactly once.
#include "platform/signal_set.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace portsig {
namespace platform {
namespace {

TEST(AtomicSignalSetTest, StartsEmpty) {
  AtomicSignalSet set;
  EXPECT_TRUE(set.Empty());
  for (int slot = 0; slot < AtomicSignalSet::kSlots; ++slot) {
    EXPECT_FALSE(set.Contains(slot)) << slot;
  }
}

TEST(AtomicSignalSetTest, EachSlotIsItsOwnBit) {
  for (int slot = 0; slot < AtomicSignalSet::kSlots; ++slot) {
    AtomicSignalSet set;
    EXPECT_FALSE(set.Add(slot)) << slot;
    EXPECT_TRUE(set.Add(slot)) << slot << ": already set";
    EXPECT_FALSE(set.Empty());
    for (int other = 0; other < AtomicSignalSet::kSlots; ++other) {
      EXPECT_EQ(set.Contains(other), other == slot) << slot << " " << other;
    }
    set.Remove(slot);
    EXPECT_FALSE(set.Contains(slot));
    EXPECT_TRUE(set.Empty()) << slot;
  }
}

TEST(AtomicSignalSetTest, RemoveLeavesTheRestOfTheWord) {
  AtomicSignalSet set;
  set.Add(1);
  set.Add(2);
  set.Add(33);
  set.Remove(2);
  set.Remove(40);  // Not there: no change.
  EXPECT_TRUE(set.Contains(1));
  EXPECT_FALSE(set.Contains(2));
  EXPECT_TRUE(set.Contains(33));
}

TEST(AtomicSignalSetTest, TakeWordTakesAndClearsOneWord) {
  AtomicSignalSet set;
  set.Add(0);
  set.Add(31);
  set.Add(32);
  set.Add(AtomicSignalSet::kSlots - 1);
  EXPECT_EQ(set.TakeWord(0), (uint32_t{1} << 0) | (uint32_t{1} << 31));
  EXPECT_FALSE(set.Contains(0));
  EXPECT_FALSE(set.Contains(31));
  EXPECT_TRUE(set.Contains(32));
  EXPECT_EQ(set.TakeWord(0), 0u);
  std::vector<int> rest;
  for (int w = 1; w < AtomicSignalSet::kWords; ++w) {
    const uint32_t bits = set.TakeWord(w);
    for (int b = 0; b < 32; ++b) {
      if (bits & (uint32_t{1} << b)) rest.push_back(w * 32 + b);
    }
  }
  EXPECT_EQ(rest, (std::vector<int>{32, AtomicSignalSet::kSlots - 1}));
  EXPECT_TRUE(set.Empty());
}

TEST(AtomicSignalSetTest, ClearEmptiesEveryWord) {
  AtomicSignalSet set;
  for (int slot = 0; slot < AtomicSignalSet::kSlots; slot += 7) set.Add(slot);
  set.Clear();
  EXPECT_TRUE(set.Empty());
  for (int slot = 0; slot < AtomicSignalSet::kSlots; ++slot) {
    EXPECT_FALSE(set.Contains(slot));
  }
}

// What the signal queue relies on: an Add that found its bit clear is a new
// pending signal, and the taker sees each exactly once. Adders on several
// threads (slots in every word, some shared), one taker meanwhile.
TEST(AtomicSignalSetTest, EveryFirstAddIsTakenExactlyOnce) {
  constexpr int kAdders = 4;
  constexpr int kRounds = 200000;
  AtomicSignalSet set;
  std::atomic<int64_t> first_adds[AtomicSignalSet::kSlots] = {};
  std::atomic<int> done{0};
  // Full passes of the taker. Each adder, halfway, waits for two more, so
  // some bits are taken while adders still add and are added again: the
  // count below then checks re-adds too, however the threads are scheduled
  // (a loaded machine could otherwise run every adder before the taker).
  std::atomic<int> passes{0};
  std::vector<std::thread> adders;
  for (int a = 0; a < kAdders; ++a) {
    adders.emplace_back([&, a] {
      for (int i = 0; i < kRounds; ++i) {
        if (i == kRounds / 2) {
          const int seen = passes.load();
          while (passes.load() < seen + 2) std::this_thread::yield();
        }
        // Each adder walks every slot from its own start; every fifth Add
        // is slot 31, by everyone.
        const int slot =
            i % 5 == 0 ? 31 : (a + i * kAdders) % AtomicSignalSet::kSlots;
        if (!set.Add(slot)) first_adds[slot]++;
      }
      done++;
    });
  }
  int64_t taken[AtomicSignalSet::kSlots] = {};
  for (;;) {
    const bool all_done = done.load() == kAdders;
    for (int w = 0; w < AtomicSignalSet::kWords; ++w) {
      const uint32_t bits = set.TakeWord(w);
      for (int b = 0; b < 32; ++b) {
        if (bits & (uint32_t{1} << b)) ++taken[w * 32 + b];
      }
    }
    passes++;
    if (all_done) break;
  }
  for (auto& t : adders) t.join();
  EXPECT_TRUE(set.Empty());
  int64_t total = 0;
  for (int slot = 0; slot < AtomicSignalSet::kSlots; ++slot) {
    EXPECT_EQ(taken[slot], first_adds[slot].load()) << "slot " << slot;
    total += taken[slot];
  }
  EXPECT_GT(total, int64_t{AtomicSignalSet::kSlots});
}

}  // namespace
}  // namespace platform
}  // namespace portsig

// LatestRecord (platform/latest_record.h): counts and the newest record,
// and, with publishers on several threads, a count that never under- or
// over-reports and records that are never a mix of two occurrences.
#include "platform/latest_record.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "platform/signal_record.h"

namespace portsig {
namespace platform {
namespace {

// Every field says which occurrence the record is, so a torn read shows.
SignalRecord Numbered(int32_t n) {
  SignalRecord record;
  record.code = n;
  record.pid = n;
  record.uid = static_cast<uint32_t>(n);
  record.has_value = (n % 2) == 0;
  record.value = n;
  return record;
}

bool Consistent(const SignalRecord& r) {
  return r.pid == r.code && r.uid == static_cast<uint32_t>(r.code) &&
         r.has_value == ((r.code % 2) == 0) && r.value == r.code;
}

TEST(LatestRecordTest, NothingPublishedTakesNothing) {
  LatestRecord latest;
  EXPECT_FALSE(latest.pending());
  SignalRecord record = Numbered(7);
  EXPECT_EQ(latest.Take(&record), 0u);
  EXPECT_EQ(record.value, 7) << "Take changed the record with nothing taken";
}

TEST(LatestRecordTest, TakeCountsEveryPublishAndKeepsTheNewest) {
  LatestRecord latest;
  latest.Publish(Numbered(1));
  EXPECT_TRUE(latest.pending());
  latest.Publish(Numbered(2));
  latest.Publish(Numbered(3));
  SignalRecord record;
  EXPECT_EQ(latest.Take(&record), 3u);
  EXPECT_EQ(record.code, 3);
  EXPECT_TRUE(Consistent(record));
  EXPECT_FALSE(latest.pending());
  EXPECT_EQ(latest.Take(&record), 0u);

  latest.Publish(Numbered(4));
  EXPECT_EQ(latest.Take(&record), 1u);
  EXPECT_EQ(record.code, 4);
}

TEST(LatestRecordTest, ClearForgetsOccurrences) {
  LatestRecord latest;
  latest.Publish(Numbered(1));
  latest.Clear();
  EXPECT_FALSE(latest.pending());
  SignalRecord record;
  EXPECT_EQ(latest.Take(&record), 0u);
  latest.Publish(Numbered(2));
  EXPECT_EQ(latest.Take(&record), 1u);
  EXPECT_EQ(record.code, 2);
}

// Publishers on several threads, one taker meanwhile: the counts add up to
// exactly what was published, and every record taken is one occurrence
// whole. Each publisher pauses between occurrences for about as long as a
// signal's trip through the kernel takes: publishing back to back, they
// would starve the taker, whose seqlock read starts over whenever anyone
// wrote meanwhile, until they stopped.
TEST(LatestRecordTest, ConcurrentPublishersNeverUnderReportOrTear) {
  constexpr int kPublishers = 3;
  constexpr int kPerPublisher = 100000;
  LatestRecord latest;
  std::atomic<int> done{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      // Publisher p's occurrences are p+1, p+1+k, p+1+2k, ...: distinct.
      for (int i = 0; i < kPerPublisher; ++i) {
        latest.Publish(Numbered(p + 1 + i * kPublishers));
        for (volatile int spin = 0; spin < 500; ++spin) {
        }
      }
      done++;
    });
  }
  uint64_t total = 0;
  int torn = 0, takes = 0;
  SignalRecord record;
  for (;;) {
    const bool all_done = done.load() == kPublishers;
    if (uint64_t n = latest.Take(&record)) {
      total += n;
      ++takes;
      if (!Consistent(record)) ++torn;
    } else if (all_done) {
      break;
    }
  }
  for (auto& t : publishers) t.join();
  EXPECT_EQ(total, uint64_t{kPublishers} * kPerPublisher);
  EXPECT_EQ(torn, 0) << "of " << takes << " takes";
  EXPECT_GT(takes, 1);
}

}  // namespace
}  // namespace platform
}  // namespace portsig

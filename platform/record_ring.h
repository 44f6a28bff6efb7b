// RecordRing: the bounded per-signal queue behind real-time "queue mode":
// every occurrence's SignalRecord, in order, up to a capacity; what does not
// fit is counted and summarized, never silently dropped.
//
// Promises:
// - Push() is async-signal-safe and lock-free, for handlers on any number
//   of threads; Pop() is for one receiver.
// - Records come out in the order their Push() claimed a place.
// - A Push() that finds capacity() records waiting returns false and folds
//   the occurrence into an overflow summary: Pop() returns it after the
//   queued records, as one record (the newest overflowed one) with its
//   count. Until the summary is taken every Push() joins it, and so does
//   every Push() while Pop() is taking it, so one sender's occurrences come
//   out in the order it sent them.
// - The capacity may change at any time (1..kMaxQueueCapacity, or 0 for
//   off); records already queued stay.
//
// Written by hand because it must run inside a signal handler: Dmitry
// Vyukov's bounded queue, where each cell's sequence number says whether it
// is free, being written, or ready, reduced to one consumer.
//
// Taking the summary: Pop() marks the write position "taking" with a
// compare-and-swap that succeeds only while the ring is empty, takes the
// summary, and unmarks it. A Push() decides between the ring and the
// summary and claims its cell in one compare-and-swap of that same word, so
// no Push() can claim a cell while the summary is being taken: it joins the
// summary instead. (A mark kept beside the count instead would leave a Push()
// that looked before it was set free to claim a cell afterwards, behind a
// newer occurrence of its own sender that the summary's record shows.)
#ifndef PORTSIG_PLATFORM_RECORD_RING_H_
#define PORTSIG_PLATFORM_RECORD_RING_H_

#include <atomic>
#include <cstdint>

#include "platform/latest_record.h"
#include "platform/signal_record.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

inline constexpr uint32_t kMaxQueueCapacity = 1024;

class RecordRing {
 public:
  RecordRing() {
    for (uint32_t i = 0; i < kCells; ++i) {
      cells_[i].sequence.store(i, std::memory_order_relaxed);
    }
  }
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;

  uint32_t capacity() const {
    return capacity_.load(std::memory_order_acquire);
  }
  void set_capacity(uint32_t capacity) {
    capacity_.store(capacity, std::memory_order_release);
  }

  // In a child after fork(): forget the parent's records, including one a
  // parent thread was writing at the time (the child would wait for it
  // forever). Keeps the capacity.
  void Reset() {
    for (uint32_t i = 0; i < kCells; ++i) {
      cells_[i].sequence.store(i, std::memory_order_relaxed);
    }
    enqueue_.store(0, std::memory_order_relaxed);
    dequeue_.store(0, std::memory_order_relaxed);
    overflowed_.Clear();
  }

  // Returns false when full (the occurrence went to the overflow summary).
  bool Push(const SignalRecord& record) {
    uint64_t position = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      if (position & kTaking) {  // Pop() is taking the summary: join it.
        overflowed_.Publish(record);
        return false;
      }
      const uint64_t limit = capacity_.load(std::memory_order_acquire);
      const uint64_t taken = dequeue_.load(std::memory_order_acquire);
      if (position < taken) {  // Stale: others pushed and it was popped.
        position = enqueue_.load(std::memory_order_relaxed);
        continue;
      }
      if (position - taken >= limit || overflowed_.pending()) {
        overflowed_.Publish(record);
        return false;
      }
      Cell& cell = cells_[position % kCells];
      const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
      if (sequence == position) {
        PORTSIG_TEST_HOOK(ring_push_claiming, 0);
        // Fails if Pop() marked the position taking since it was read.
        if (enqueue_.compare_exchange_weak(position, position + 1,
                                           std::memory_order_relaxed)) {
          cell.record = record;
          cell.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (sequence < position) {
        // The consumer has not freed this cell yet: full.
        overflowed_.Publish(record);
        return false;
      } else {
        position = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  // Where the next Push() will claim a place: records below it are queued
  // (or being written) now.
  uint64_t WritePosition() const {
    return enqueue_.load(std::memory_order_acquire) & ~kTaking;
  }

  // Fills `record` with the next queued record below `limit` (occurrences
  // 1) or, once none is left at all, the overflow summary (occurrences n).
  // Returns 0 when there is nothing. A record whose Push() has claimed a
  // cell but not finished writing it is not there yet; its sender wakes the
  // receiver afterwards, as do senders of records at or above `limit`, which
  // is what lets a receiver stop at a limit and serve other signals between
  // batches under a flood. While it takes the summary, every Push() joins
  // the summary (for the next Pop()) rather than the ring.
  uint64_t Pop(SignalRecord* record, uint64_t limit = UINT64_MAX) {
    const uint64_t position = dequeue_.load(std::memory_order_relaxed);
    Cell& cell = cells_[position % kCells];
    if (position < limit &&
        cell.sequence.load(std::memory_order_acquire) == position + 1) {
      *record = cell.record;
      cell.sequence.store(position + kCells, std::memory_order_release);
      dequeue_.store(position + 1, std::memory_order_release);
      return 1;
    }
    // Nothing claimed beyond `position`: mark it taking, which both checks
    // that the ring is empty and keeps it so until the summary is taken.
    uint64_t expected = position;
    if (!enqueue_.compare_exchange_strong(expected, position | kTaking,
                                          std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      return 0;  // Mid-write, or beyond the limit: their wake-ups follow.
    }
    PORTSIG_TEST_HOOK(ring_taking, 0);
    const uint64_t taken = overflowed_.Take(record);
    // Only this thread changes the position while it is marked.
    enqueue_.store(position, std::memory_order_release);
    return taken;
  }

 private:
  static constexpr uint32_t kCells = kMaxQueueCapacity;
  // In enqueue_: Pop() is taking the summary. Positions never reach it.
  static constexpr uint64_t kTaking = uint64_t{1} << 63;
  struct Cell {
    // position: free for the Push at `position`; position + 1: holds its
    // record; position + kCells: free for the next lap.
    std::atomic<uint64_t> sequence;
    SignalRecord record;
  };

  std::atomic<uint32_t> capacity_{0};
  alignas(64) std::atomic<uint64_t> enqueue_{0};
  alignas(64) std::atomic<uint64_t> dequeue_{0};
  LatestRecord overflowed_;
  Cell cells_[kCells];
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_RECORD_RING_H_

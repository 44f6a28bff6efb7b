// LatestRecord: the newest SignalRecord of one signal plus how many
// occurrences were published since the receiver last took it. Handlers on
// any number of threads publish; one receiver takes.
//
// Promises:
// - Publish() is async-signal-safe and wait-free: no lock, no allocation, no
//   spinning on another thread.
// - Take() returns every occurrence published before it (the count never
//   under-reports); the record it returns is at least as new as the newest
//   occurrence it counted. It may be newer: an occurrence whose record is
//   written but whose count is not yet bumped shows in this Take's record
//   and is counted (with the same record, if nothing newer came) by the
//   next. A record being written by a handler on another
//   thread while another handler publishes may be skipped in favor of that
//   one: under a storm the record describes a recent occurrence, not
//   necessarily the very last.
//
// Written by hand because it must run inside a signal handler: a seqlock
// whose writers never wait (a writer that finds another one mid-write lets
// that one's record stand) and a counter bumped after the record is written.
#ifndef PORTSIG_PLATFORM_LATEST_RECORD_H_
#define PORTSIG_PLATFORM_LATEST_RECORD_H_

#include <atomic>
#include <cstdint>

#include "platform/signal_record.h"
#include "platform/test_hooks.h"
#include "platform/wakeup.h"

namespace portsig {
namespace platform {

class LatestRecord {
 public:
  void Publish(const SignalRecord& record) {
    uint32_t seq = seq_.load(std::memory_order_relaxed);
    if ((seq & 1) == 0 &&
        seq_.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      // The field stores below must not become visible before the odd
      // sequence number; an acquire CAS does not order later stores
      // (seqlock writers need this fence on ARM and POWER).
      std::atomic_thread_fence(std::memory_order_release);
      code_.store(record.code, std::memory_order_relaxed);
      pid_.store(record.pid, std::memory_order_relaxed);
      uid_.store(record.uid, std::memory_order_relaxed);
      has_value_.store(record.has_value, std::memory_order_relaxed);
      value_.store(record.value, std::memory_order_relaxed);
      seq_.store(seq + 2, std::memory_order_release);
    }
    // After the record: whoever takes this count reads a record at least
    // this new.
    occurrences_.fetch_add(1, std::memory_order_acq_rel);
  }

  // Returns the occurrences since the last Take (0: none) and, if any, fills
  // `record`. One receiver at a time.
  uint64_t Take(SignalRecord* record) {
    uint64_t taken = occurrences_.exchange(0, std::memory_order_acq_rel);
    if (taken == 0) return 0;
    PORTSIG_TEST_HOOK(latest_record_taking, 0);
    for (;;) {
      uint32_t before = seq_.load(std::memory_order_acquire);
      if (before & 1) {
        YieldProcessor();  // A handler is mid-write on another thread.
        continue;
      }
      record->code = code_.load(std::memory_order_relaxed);
      record->pid = pid_.load(std::memory_order_relaxed);
      record->uid = uid_.load(std::memory_order_relaxed);
      record->has_value = has_value_.load(std::memory_order_relaxed);
      record->value = value_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == before) return taken;
    }
  }

  // Whether occurrences were published since the last Take.
  bool pending() const {
    return occurrences_.load(std::memory_order_acquire) != 0;
  }

  // In a child after fork(): forget the parent's occurrences.
  void Clear() {
    occurrences_.store(0, std::memory_order_relaxed);
    seq_.store(0, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t> seq_{0};  // Odd while a writer is mid-record.
  std::atomic<int32_t> code_{0};
  std::atomic<int32_t> pid_{0};
  std::atomic<uint32_t> uid_{0};
  std::atomic<bool> has_value_{false};
  std::atomic<intptr_t> value_{0};
  std::atomic<uint64_t> occurrences_{0};
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_LATEST_RECORD_H_

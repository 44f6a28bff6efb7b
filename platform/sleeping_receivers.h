// SleepingReceivers: a SigQueue's table of the threads that sleep on it
// waiting for a delivery (SignalChannel::Receive), each in a ReceiverSlot,
// so that a sender can hand its signal to one of them instead of to the
// dispatcher (sigqueue.h, sleeping receivers).
//
// Promises:
// - Claim() gives the calling thread a slot of its own until Release();
//   any number of threads may hold one. Ordinary threads only (it may
//   allocate).
// - WakeOne() is async-signal-safe and lock-free: it wakes one owner that
//   announced a sleep and was not woken since, preferring the calling
//   thread's own slot (the kernel often runs the handler on the very thread
//   that sleeps), and says whether it found one. It never touches freed
//   memory: slots are never freed while the table lives, so a sender may
//   look at a slot its owner is just releasing (and then wakes whoever
//   claims it next, which costs that thread one early return, no more).
// - ResetAfterFork(): in a forked child, no slot is claimed or asleep.
#ifndef PORTSIG_PLATFORM_SLEEPING_RECEIVERS_H_
#define PORTSIG_PLATFORM_SLEEPING_RECEIVERS_H_

#include <atomic>
#include <cstdint>

#include "platform/receiver_slot.h"

namespace portsig {
namespace platform {

class SleepingReceivers {
 public:
  SleepingReceivers() = default;
  ~SleepingReceivers();
  SleepingReceivers(const SleepingReceivers&) = delete;
  SleepingReceivers& operator=(const SleepingReceivers&) = delete;

  ReceiverSlot* Claim();
  void Release(ReceiverSlot* slot);
  bool WakeOne();
  void ResetAfterFork();

 private:
  static constexpr int kSlotsPerChunk = 64;
  // Slots come in chunks, added as more threads sleep at once and never
  // freed before the table: a sender walks them without a lock.
  struct Chunk {
    std::atomic<uint64_t> claimed{0};
    ReceiverSlot slots[kSlotsPerChunk];
    std::atomic<Chunk*> next{nullptr};
  };
  Chunk first_;
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SLEEPING_RECEIVERS_H_

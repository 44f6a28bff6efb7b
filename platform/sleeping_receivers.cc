#include "platform/sleeping_receivers.h"

namespace portsig {
namespace platform {
namespace {

// The slot the calling thread holds, if any, and its table, for WakeOne's
// preference. Initial-exec TLS is a plain load from the thread pointer, so
// a signal handler may read it. volatile, and the table written after the
// slot and cleared before it: a handler interrupting the owner halfway
// sees either no slot or a whole one.
__attribute__((tls_model(
    "initial-exec"))) thread_local const SleepingReceivers* volatile t_table =
    nullptr;
__attribute__((tls_model(
    "initial-exec"))) thread_local ReceiverSlot* volatile t_slot = nullptr;

void SetOwnSlot(const SleepingReceivers* table, ReceiverSlot* slot) {
  t_table = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_slot = slot;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_table = table;
}

}  // namespace

SleepingReceivers::~SleepingReceivers() {
  Chunk* chunk = first_.next.load(std::memory_order_acquire);
  while (chunk != nullptr) {
    Chunk* next = chunk->next.load(std::memory_order_acquire);
    delete chunk;
    chunk = next;
  }
}

ReceiverSlot* SleepingReceivers::Claim() {
  for (Chunk* chunk = &first_;;) {
    uint64_t claimed = chunk->claimed.load(std::memory_order_relaxed);
    while (claimed != ~uint64_t{0}) {
      const int index = __builtin_ctzll(~claimed);
      // seq_cst: a sender that misses the bit read the table before the
      // owner's Announce, so the owner's look at the queue sees its signal.
      if (chunk->claimed.compare_exchange_weak(claimed,
                                               claimed | (uint64_t{1} << index),
                                               std::memory_order_seq_cst)) {
        ReceiverSlot* slot = &chunk->slots[index];
        SetOwnSlot(this, slot);
        return slot;
      }
    }
    Chunk* next = chunk->next.load(std::memory_order_acquire);
    if (next == nullptr) {
      auto* fresh = new Chunk;
      if (chunk->next.compare_exchange_strong(next, fresh,
                                              std::memory_order_acq_rel)) {
        next = fresh;
      } else {
        delete fresh;  // Another thread added one; `next` is it.
      }
    }
    chunk = next;
  }
}

void SleepingReceivers::Release(ReceiverSlot* slot) {
  if (t_slot == slot) SetOwnSlot(nullptr, nullptr);
  for (Chunk* chunk = &first_; chunk != nullptr;
       chunk = chunk->next.load(std::memory_order_acquire)) {
    if (slot >= chunk->slots && slot < chunk->slots + kSlotsPerChunk) {
      const int index = static_cast<int>(slot - chunk->slots);
      chunk->claimed.fetch_and(~(uint64_t{1} << index),
                               std::memory_order_seq_cst);
      return;
    }
  }
}

bool SleepingReceivers::WakeOne() {
  // The handler on a thread that sleeps here: no other thread need wake.
  if (t_table == this) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (ReceiverSlot* own = t_slot; own != nullptr && own->WakeOwn()) {
      return true;
    }
  }
  for (Chunk* chunk = &first_; chunk != nullptr;
       chunk = chunk->next.load(std::memory_order_acquire)) {
    for (uint64_t claimed = chunk->claimed.load(std::memory_order_seq_cst);
         claimed != 0; claimed &= claimed - 1) {
      if (chunk->slots[__builtin_ctzll(claimed)].Wake()) return true;
    }
  }
  return false;
}

void SleepingReceivers::ResetAfterFork() {
  for (Chunk* chunk = &first_; chunk != nullptr;
       chunk = chunk->next.load(std::memory_order_relaxed)) {
    chunk->claimed.store(0, std::memory_order_relaxed);
    for (ReceiverSlot& slot : chunk->slots) slot.ResetAfterFork();
  }
  SetOwnSlot(nullptr, nullptr);
}

}  // namespace platform
}  // namespace portsig

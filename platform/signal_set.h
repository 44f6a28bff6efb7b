// AtomicSignalSet: one bit per slot 0..kMaxSignal in lock-free atomic words,
// readable and writable from a signal handler (Go's sig.wanted / sig.mask).
// Every operation is sequentially consistent: the Stop protocol pairs a
// Remove() here with a counter read elsewhere, Dekker style.
#ifndef PORTSIG_PLATFORM_SIGNAL_SET_H_
#define PORTSIG_PLATFORM_SIGNAL_SET_H_

#include <atomic>
#include <cstdint>

#include "platform/signal_names.h"

namespace portsig {
namespace platform {

class AtomicSignalSet {
 public:
  static constexpr int kSlots = kMaxSignal + 1;
  static constexpr int kWords = (kSlots + 31) / 32;
  static_assert(std::atomic<uint32_t>::is_always_lock_free,
                "signal handlers need lock-free 32-bit atomics");

  bool Contains(int slot) const {
    return (words_[slot / 32].load() & Bit(slot)) != 0;
  }
  // Returns whether the bit was already set.
  bool Add(int slot) {
    return (words_[slot / 32].fetch_or(Bit(slot)) & Bit(slot)) != 0;
  }
  void Remove(int slot) { words_[slot / 32].fetch_and(~Bit(slot)); }
  // Takes and clears one word of bits; an empty word is only read, so a
  // receiver that finds nothing does not take the cache line from senders.
  uint32_t TakeWord(int word) {
    if (words_[word].load() == 0) return 0;
    return words_[word].exchange(0);
  }
  bool Empty() const {
    for (const auto& w : words_) {
      if (w.load() != 0) return false;
    }
    return true;
  }
  void Clear() {
    for (auto& w : words_) w.store(0);
  }

 private:
  static uint32_t Bit(int slot) { return uint32_t{1} << (slot % 32); }
  std::atomic<uint32_t> words_[kWords] = {};
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SIGNAL_SET_H_

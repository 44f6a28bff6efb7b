// Internal: what one subscriber asked for (a set of signals and notes), and
// the set operations the handler map, the stopping list and the once
// bookkeeping share.
#ifndef PORTSIG_OS_SIGNAL_WANTED_H_
#define PORTSIG_OS_SIGNAL_WANTED_H_

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/numeric/bits.h"
#include "os_signal/table.h"
#include "platform/signal_names.h"
#include "runtime/received_signal.h"

namespace portsig {
namespace os_signal_internal {

// One bit per signal number, 1..platform::kMaxSignal.
using SignalBits = std::bitset<platform::kMaxSignal + 1>;

// What one subscriber asked for.
struct Wanted {
  SignalBits signals;
  // Those of `signals` a Notify named (not just "every signal"): the ones
  // the runtime keeps open on its mask thread (runtime/mask_thread.h).
  SignalBits named;
  bool all_notes = false;
  // Notes asked for by name; null until the first. Most subscribers want
  // signals only, and every Notify and Stop makes, moves and parks their
  // Wanted: as a bitset that costs no hash set to build and free.
  std::unique_ptr<HashSet<std::string>> notes;

  bool empty() const { return signals.none() && !all_notes && !has_notes(); }
  bool has_notes() const { return notes != nullptr && !notes->empty(); }
  bool Wants(const runtime::ReceivedSignal& received) const;
  // Returns whether the note is new.
  bool AddNote(const std::string& note);
  // Returns whether the note was there.
  bool RemoveNote(const std::string& note);
};

// Every signal Notify with an empty list relays.
const SignalBits& CatchableSignals();

// Calls f(signo) for each signal in `set`. Stop runs this for every
// channel, and most channels want one or two signals: it takes the set 64
// slots at a time and jumps from one set bit to the next, rather than
// testing every slot, and stops when no bit is left (usually after the
// first word, with no shift of the whole set).
// f runs synchronously on the caller's thread, under whatever locks the
// caller holds; callers annotate f with the locks it needs, and the analysis
// is off here only because it cannot carry the caller's locks into a
// template's call of f.
template <typename F>
void ForEachSignal(const SignalBits& set, F f) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  constexpr int kWordBits = 64;
  constexpr SignalBits kWordMask(~uint64_t{0});
  SignalBits rest = set;
  for (int base = 0;; base += kWordBits) {
    uint64_t word = (rest & kWordMask).to_ullong();
    for (; word != 0; word &= word - 1) f(base + absl::countr_zero(word));
    rest &= ~kWordMask;
    if (rest.none()) return;
    rest >>= kWordBits;
  }
}

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_WANTED_H_

// The invariants a storm must keep, checked in the storm process once its
// threads are joined. Each check returns what it found wrong (all of it,
// not only the first) and adds its figures to Figures:
//
// - CheckFinalSignalsArrive: once the storm is over, the last signal of
//   each stable kind reaches every channel still registered for it (the
//   churners know exactly which of their channels want which kind);
// - CheckDroppedCountsFullBuffers: dropped() counts exactly the deliveries
//   that found a full buffer: the stable channels of one kind, registered
//   throughout, all saw the same number of fan-outs (delivered + dropped)
//   whatever their capacity and reader; a channel nobody reads holds
//   min(capacity, fan-outs); a reader's count plus what is left equals
//   delivered();
// - CheckAccounting: fan-outs of a kind never exceed the times portsig's
//   handler ran for it; on the note backend the shortfall is at most
//   QueueOverflows(); the posix backend never overflows;
// - CheckResetRestores: Reset() puts back exactly (handler, flags, mask)
//   the disposition every signal had before portsig started; Ignored()
//   agrees;
// - CheckActorFigures: no API call returned an unexpected status, no
//   AtomicStop signal was lost or arrived after Stop returned, no forked
//   child hung or failed, and the mode's actors actually ran.
#ifndef PORTSIG_TESTS_STRESS_STORM_INVARIANTS_H_
#define PORTSIG_TESTS_STRESS_STORM_INVARIANTS_H_

#include <signal.h>

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/stress/storm/channels.h"
#include "tests/stress/storm/config.h"
#include "tests/stress/storm/figures.h"
#include "tests/stress/storm/kinds.h"

namespace portsig {
namespace storm {

// Every signal's disposition, as it was before portsig started.
struct Dispositions {
  static Dispositions Save();
  struct sigaction action[kMaxSignal + 1];
  bool saved[kMaxSignal + 1] = {};
};

// A stable channel's counters, read together.
struct ChannelCounts {
  uint64_t delivered, dropped, size;
  bool operator==(const ChannelCounts& o) const {
    return delivered == o.delivered && dropped == o.dropped && size == o.size;
  }
};
// Indexed like StableChannels.
using AtRest = std::vector<ChannelCounts>;

// Raises the last signal of each stable kind and checks that every channel
// registered for it sees one more fan-out (delivered or, if full, dropped).
// Adds the raises to f->sent, sets f->final_lost.
::testing::AssertionResult CheckFinalSignalsArrive(const Config& config,
                                                   const StableChannels& stable,
                                                   const ChurnChannels& churn,
                                                   Figures* f);

// Signals of the storm may still be pending in the kernel (or, under TSan,
// deferred): waits until a dispatch round changes no stable channel's
// counters, and returns them. Equal before and after a dispatch round, they
// cannot have caught a fan-out half done. Readers must be stopped.
AtRest WaitUntilAtRest(const StableChannels& stable);

// Sets f->deliveries and f->drops over every channel, retired ones too.
void CountDeliveries(const StableChannels& stable, const AtRest& at_rest,
                     const ChurnChannels& churn, Figures* f);

::testing::AssertionResult CheckDroppedCountsFullBuffers(
    const Config& config, const StableChannels& stable, const AtRest& at_rest);

// Sets f->handler_entries_stable, f->fanouts_stable, f->accounting_lost.
::testing::AssertionResult CheckAccounting(const Config& config,
                                           const StableChannels& stable,
                                           const AtRest& at_rest, Figures* f);

// Calls Reset(). Sets f->restored_wrong.
::testing::AssertionResult CheckResetRestores(const Dispositions& original,
                                              Figures* f);

::testing::AssertionResult CheckActorFigures(const Config& config,
                                             const Figures& f);

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_INVARIANTS_H_

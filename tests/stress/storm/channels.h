// The channels a storm registers, and what the checks know about each.
#ifndef PORTSIG_TESTS_STRESS_STORM_CHANNELS_H_
#define PORTSIG_TESTS_STRESS_STORM_CHANNELS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "os_signal/signal.h"
#include "tests/stress/storm/kinds.h"

namespace portsig {
namespace storm {

// A stable channel: registered before the storm for one kind, until the
// end. Per kind: unbuffered with a reader, capacity 1 never read, capacity
// 4 with a reader, capacity 64 never read.
struct StableChannel {
  int kind;
  std::unique_ptr<SignalChannel> channel;
  bool has_reader;
  std::atomic<int64_t> read{0};   // signals its reader received
  std::atomic<int64_t> wrong{0};  // ... that were not `kind`
};
using StableChannels = std::vector<std::unique_ptr<StableChannel>>;

// One churner's channel, and exactly which stable kinds it wants (only
// that churner's Notify/Stop change those; Reset/Ignore only touch churn
// kinds).
struct ChurnChannel {
  std::unique_ptr<SignalChannel> channel;
  SignalSet stable_wanted;
};
// Per churner, its channels.
using ChurnChannels = std::vector<std::vector<ChurnChannel>>;

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_CHANNELS_H_

#include "tools/watch.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "tools/finish.h"
#include "tools/signal_list.h"

namespace portsig {
namespace sigwatch {

int RunWatch(const WatchOptions& options, Reporter& reporter) {
  SignalChannel channel(options.buffer);
  if (absl::Status status = Notify(channel, options.signals); !status.ok()) {
    std::fprintf(stderr, "sigwatch: %s\n", status.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "sigwatch: watching %s pid=%d backend=%s\n",
               JoinSignalNames(options.signals).c_str(),
               static_cast<int>(getpid()), options.backend.c_str());
  std::fflush(stderr);

  const absl::Time deadline = options.timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + options.timeout;
  uint64_t interrupts = 0;
  std::string reason;
  for (;;) {
    std::optional<Delivery> received;
    if (deadline == absl::InfiniteFuture()) {
      received = channel.ReceiveDelivery();
    } else {
      absl::Duration left = deadline - absl::Now();
      if (left > absl::ZeroDuration()) {
        received = channel.ReceiveDeliveryFor(left);
      }
      if (!received && absl::Now() >= deadline) {
        reason = "timeout";
        break;
      }
      // ReceiveDeliveryFor returns empty only at its deadline; the check
      // above is the watch's own clock, which may disagree by a tick.
      if (!received) continue;
    }
    reporter.Report(*received);
    if (options.count > 0 &&
        reporter.count() >= static_cast<uint64_t>(options.count)) {
      reason = "count";
      break;
    }
    // Occurrences, not deliveries: a quick double Ctrl-C may arrive as one
    // coalesced delivery.
    const int signo = received->signal.number();
    if (signo == SIGINT || signo == SIGTERM) {
      interrupts += received->occurrences;
      if (interrupts >= 2) {
        reason = "interrupted";
        break;
      }
    }
  }

  reporter.PrintSummary(FinishWatching(channel, options.signals, reason));
  bool count_missed = options.count > 0 &&
                      reporter.count() < static_cast<uint64_t>(options.count);
  return count_missed ? 1 : 0;
}

}  // namespace sigwatch
}  // namespace portsig

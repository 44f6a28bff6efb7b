#include "tools/watch.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "tools/background_writes.h"
#include "tools/finish.h"
#include "tools/signal_list.h"

namespace portsig {
namespace sigwatch {

int RunWatch(const WatchOptions& options, Reporter& reporter) {
  BlockTtouForOwnWrites();
  SignalChannel channel(options.buffer);
  if (absl::Status status = Notify(channel, options.signals); !status.ok()) {
    std::fprintf(stderr, "sigwatch: %s\n", status.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "sigwatch: watching %s pid=%d backend=%s\n",
               JoinSignalNames(options.signals).c_str(),
               static_cast<int>(getpid()), options.backend.c_str());
  std::fflush(stderr);

  // Elapsed time, on the steady clock: a wall-clock step must not stretch
  // or cut the watch.
  using Clock = std::chrono::steady_clock;
  // (A century or more is forever: the sum below must not overflow.)
  const bool forever = options.timeout >= absl::Hours(24 * 365 * 100);
  const Clock::time_point deadline =
      forever ? Clock::time_point::max()
              : Clock::now() + absl::ToChronoNanoseconds(options.timeout);
  uint64_t interrupts = 0;
  // Reports one delivery; the reason to stop after it, or "".
  auto take = [&](const Delivery& delivery) -> std::string {
    reporter.Report(delivery);
    // Nobody reads what follows (see reporter.h); stop, as `yes` stops
    // when its pipe closes.
    if (reporter.write_error() != 0) return "output-error";
    if (options.count > 0 &&
        reporter.count() >= static_cast<uint64_t>(options.count)) {
      return "count";
    }
    // Occurrences, not deliveries: a quick double Ctrl-C may arrive as one
    // coalesced delivery.
    const int signo = delivery.signal.number();
    if (signo == SIGINT || signo == SIGTERM) {
      interrupts += delivery.occurrences;
      if (interrupts >= 2) return "interrupted";
    }
    return "";
  };
  std::string reason;
  for (;;) {
    std::optional<Delivery> received;
    if (forever) {
      received = channel.ReceiveDelivery();
    } else {
      const absl::Duration left = absl::FromChrono(deadline - Clock::now());
      if (left > absl::ZeroDuration()) {
        received = channel.ReceiveDeliveryFor(left);
      }
      if (!received) {
        // ReceiveDeliveryFor returns empty only at its deadline; the
        // watch's own clock may disagree by a tick.
        if (Clock::now() < deadline) continue;
        // Time is up, but what reached sigwatch by now is reported, not
        // left unread: once StopWatching returns, every signal that
        // arrived before it is in the channel (os_signal/signal.h's Stop),
        // however far the dispatcher had taken it. So --timeout=0 reports
        // the signals pending when sigwatch started, as poll(2) with a zero
        // timeout reports what is ready; nothing more can come, so a storm
        // cannot hold the watch open.
        StopWatching(channel, options.signals);
        reason = "timeout";
        while (std::optional<Delivery> late = channel.TryReceiveDelivery()) {
          if (std::string why = take(*late); !why.empty()) {
            reason = why;
            break;
          }
        }
        break;
      }
    }
    if (std::string why = take(*received); !why.empty()) {
      reason = why;
      break;
    }
  }

  reporter.PrintSummary(FinishWatching(channel, options.signals, reason));
  if (const int error = reporter.write_error(); error != 0) {
    std::fprintf(stderr, "sigwatch: writing stdout: %s\n",
                 std::strerror(error));
    return 1;
  }
  bool count_missed = options.count > 0 &&
                      reporter.count() < static_cast<uint64_t>(options.count);
  return count_missed ? 1 : 0;
}

}  // namespace sigwatch
}  // namespace portsig

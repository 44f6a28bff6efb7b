// consumer: the smallest program built against portsig from another Bazel
// workspace. Notifies a channel of SIGUSR1, raises it, receives it, and
// prints "consumer received SIGUSR1"; exits 0 on success, 1 otherwise.
#include <signal.h>

#include <cstdio>
#include <optional>

#include "os_signal/signal.h"

int main() {
  portsig::SignalChannel channel(1);
  if (absl::Status s = portsig::Notify(channel, {SIGUSR1}); !s.ok()) {
    std::fprintf(stderr, "consumer: %s\n", s.ToString().c_str());
    return 1;
  }
  raise(SIGUSR1);
  // Bounded, so a broken build fails instead of hanging CI.
  std::optional<portsig::Signal> got = channel.ReceiveFor(absl::Seconds(10));
  if (!got) {
    std::fprintf(stderr, "consumer: SIGUSR1 never arrived\n");
    return 1;
  }
  std::printf("consumer received %s\n", got->ToString().c_str());
  return got->number() == SIGUSR1 ? 0 : 1;
}

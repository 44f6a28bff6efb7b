#include "tools/relay_signals.h"

#include <signal.h>

namespace portsig {
namespace sigwatch {

std::vector<Signal> RelayCaughtSignals() {
  std::vector<Signal> caught;
  for (int signo = 1; signo < NSIG; ++signo) {
    Signal signal(signo);
    if (signal.Validate().ok()) caught.push_back(signal);
  }
  return caught;
}

std::vector<Signal> DefaultForwardedSignals() {
  std::vector<Signal> forwarded;
  for (const Signal& signal : RelayCaughtSignals()) {
    if (!IsHandledByRelay(signal.number())) forwarded.push_back(signal);
  }
  return forwarded;
}

bool IsHandledByRelay(int signo) { return signo == SIGCHLD; }

}  // namespace sigwatch
}  // namespace portsig

#include "tests/stress/storm/kinds.h"

#include "tests/testing/dispatch.h"

namespace portsig {
namespace storm {

Kinds Kinds::Choose(bool host_handled) {
  Kinds kinds;
  kinds.stable = {SIGUSR1, SIGUSR2, SIGRTMIN + 1};
  kinds.churn = {SIGWINCH, SIGURG};
  if (host_handled) {
    kinds.churn.insert(kinds.churn.end(), {SIGHUP, SIGRTMIN + 3, SIGRTMIN + 4});
  }
  kinds.host_handled = host_handled;
  return kinds;
}

int Kinds::Random(std::mt19937_64& rng) const {
  const int n = kStableKinds + static_cast<int>(churn.size());
  const int i = static_cast<int>(rng() % n);
  return i < kStableKinds ? stable[i] : churn[i - kStableKinds];
}

SignalSet Kinds::AllStable() const {
  SignalSet set;
  for (int k : stable) set.set(k);
  return set;
}

SignalSet Kinds::StableAmong(std::initializer_list<int> signals) const {
  SignalSet set;
  for (int s : signals) {
    for (int k : stable) {
      if (k == s) set.set(s);
    }
  }
  return set;
}

int AtomicStopSignal(const Kinds& kinds, int i) {
  if (kinds.host_handled) return SIGRTMIN + 6 + i;
  return i == 0 ? SIGCHLD : SIGCONT;
}

void WaitForDispatch() { testing::WaitForDispatch(BarrierSignal()); }

}  // namespace storm
}  // namespace portsig

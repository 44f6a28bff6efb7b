// The generic POSIX layer: no restorer of its own, so portsig's handler
// reads the disposition on every signal.
#include "platform/own_restorer.h"

namespace portsig {
namespace platform {

bool HasOwnRestorer() { return false; }

int SigactionWithOwnRestorer(int signo, const struct sigaction& action) {
  return sigaction(signo, &action, nullptr);
}

int SigactionAsRead(int signo, const struct sigaction& read) {
  return sigaction(signo, &read, nullptr);
}

bool IsOwnRestorer(const void*) { return false; }

}  // namespace platform
}  // namespace portsig

#include "tools/background_writes.h"

#include <pthread.h>

namespace portsig {
namespace sigwatch {

sigset_t BlockTtouForOwnWrites() {
  sigset_t ttou, before;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &before);
  return before;
}

}  // namespace sigwatch
}  // namespace portsig

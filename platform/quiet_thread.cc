#include "platform/quiet_thread.h"

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace portsig {
namespace platform {
namespace {

// A new thread inherits its creator's mask: block everything around the
// creation, and put the creator's mask back however it ends.
class BlockAllSignalsForScope {
 public:
  BlockAllSignalsForScope() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~BlockAllSignalsForScope() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  BlockAllSignalsForScope(const BlockAllSignalsForScope&) = delete;
  BlockAllSignalsForScope& operator=(const BlockAllSignalsForScope&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace

void StartQuietThread(const char* name, std::function<void()> body) {
  BlockAllSignalsForScope blocked;
  std::thread thread(std::move(body));
  // Named by its creator, so it has its name from the moment Start returns.
  pthread_setname_np(thread.native_handle(), name);
  thread.detach();
}

}  // namespace platform
}  // namespace portsig

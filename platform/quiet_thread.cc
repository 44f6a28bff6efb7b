#include "platform/quiet_thread.h"

#include <pthread.h>

#include <thread>
#include <utility>

#include "platform/scoped_signal_block.h"

namespace portsig {
namespace platform {

void StartQuietThread(const char* name, std::function<void()> body) {
  // A new thread inherits its creator's mask.
  ScopedSignalBlock blocked;
  std::thread thread(std::move(body));
  // Named by its creator, so it has its name from the moment Start returns.
  pthread_setname_np(thread.native_handle(), name);
  thread.detach();
}

}  // namespace platform
}  // namespace portsig

// ScopedSignalBlock: blocks every signal on the calling thread for a scope
// and then puts the thread's mask back exactly as it was. ScopedSignalMask:
// the same with the mask set to exactly a given set.
//
// For code that must not be interrupted by a handler that could need what
// it holds (the note backend's lock, the runtime's disposition table while
// it is written) or that a handler leaving by longjmp must not cut in two
// (the posix queue's wake-up for a first poller), and for creating
// portsig's threads, which inherit the mask in force when they are made.
#ifndef PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_
#define PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_

#include <pthread.h>
#include <signal.h>

namespace portsig {
namespace platform {

class ScopedSignalMask {
 public:
  explicit ScopedSignalMask(const sigset_t& mask)
      : ScopedSignalMask(SIG_SETMASK, mask) {}
  ~ScopedSignalMask() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  ScopedSignalMask(const ScopedSignalMask&) = delete;
  ScopedSignalMask& operator=(const ScopedSignalMask&) = delete;

 protected:
  ScopedSignalMask(int how, const sigset_t& signals) {
    pthread_sigmask(how, &signals, &saved_);
  }
  static sigset_t Every() {
    sigset_t all;
    sigfillset(&all);
    return all;
  }

 private:
  sigset_t saved_;
};

class ScopedSignalBlock : public ScopedSignalMask {
 public:
  ScopedSignalBlock() : ScopedSignalMask(SIG_BLOCK, Every()) {}
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_

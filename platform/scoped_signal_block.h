// ScopedSignalBlock: blocks every signal on the calling thread for a scope
// and then puts the thread's mask back exactly as it was. ScopedSignalMask:
// the same with the mask set to exactly a given set.
//
// For code that must not be interrupted by a handler that could need what
// it holds (the note backend's lock), and for creating portsig's threads,
// which inherit the mask in force when they are made.
#ifndef PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_
#define PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_

#include <pthread.h>
#include <signal.h>

namespace portsig {
namespace platform {

class ScopedSignalBlock {
 public:
  ScopedSignalBlock() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~ScopedSignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  ScopedSignalBlock(const ScopedSignalBlock&) = delete;
  ScopedSignalBlock& operator=(const ScopedSignalBlock&) = delete;

 private:
  sigset_t saved_;
};

class ScopedSignalMask {
 public:
  explicit ScopedSignalMask(const sigset_t& mask) {
    pthread_sigmask(SIG_SETMASK, &mask, &saved_);
  }
  ~ScopedSignalMask() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  ScopedSignalMask(const ScopedSignalMask&) = delete;
  ScopedSignalMask& operator=(const ScopedSignalMask&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_

// UnpoisonUnwoundFrames: for tests whose threads are cancelled. Put one at
// the top of a thread function that pthread_cancel may unwind. ASan does
// not see that unwinding, so it leaves the unwound frames poisoned, and
// its own thread teardown, which writes there, then reports a
// stack-use-after-scope. The destructor, run as the unwinding leaves the
// function, unpoisons them; without ASan it does nothing.
#ifndef PORTSIG_TESTS_TESTING_UNPOISON_UNWOUND_FRAMES_H_
#define PORTSIG_TESTS_TESTING_UNPOISON_UNWOUND_FRAMES_H_

#if defined(__SANITIZE_ADDRESS__)
#define PORTSIG_TESTING_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PORTSIG_TESTING_ASAN 1
#endif
#endif
#ifdef PORTSIG_TESTING_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace portsig {
namespace testing {

struct UnpoisonUnwoundFrames {
  ~UnpoisonUnwoundFrames() {
#ifdef PORTSIG_TESTING_ASAN
    __asan_handle_no_return();
#endif
  }
};

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_UNPOISON_UNWOUND_FRAMES_H_

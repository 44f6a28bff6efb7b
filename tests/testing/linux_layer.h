// For tests that look at what only portsig's Linux platform layer does
// (futex sleeps, thread names) or read Linux's /proc to see it: in the
// generic POSIX build (--//platform:os=posix; CMake: PORTSIG_OS=posix) they
// skip themselves, saying why; in the Linux build they run. Every other
// test runs in both.
#ifndef PORTSIG_TESTS_TESTING_LINUX_LAYER_H_
#define PORTSIG_TESTS_TESTING_LINUX_LAYER_H_

#include <cstring>

#include "gtest/gtest.h"
#include "platform/os_name.h"

namespace portsig {
namespace testing {

// True when portsig was built with its Linux platform layer.
inline bool LinuxLayer() {
  return std::strcmp(platform::PlatformOs(), "linux") == 0;
}

}  // namespace testing
}  // namespace portsig

// At the top of a test body: skips the test in the generic POSIX build.
// `why` says what Linux-only thing the test needs.
#define PORTSIG_SKIP_UNLESS_LINUX_LAYER(why)                             \
  if (!::portsig::testing::LinuxLayer())                                 \
  GTEST_SKIP() << "needs portsig's Linux platform layer (" << (why)      \
               << "); this is the generic POSIX build (--//platform:os=" \
               << ::portsig::platform::PlatformOs() << ")"

#endif  // PORTSIG_TESTS_TESTING_LINUX_LAYER_H_

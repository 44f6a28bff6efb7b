// Readable and PollUntilReadable: what a poll loop would see of a readiness
// descriptor (SignalChannel::ReadyFd, SignalContext::ReadyFd,
// ChannelGroup::ReadyFd), for tests that check when it polls readable.
#ifndef PORTSIG_TESTS_TESTING_READABLE_H_
#define PORTSIG_TESTS_TESTING_READABLE_H_

#include <poll.h>

#include "gtest/gtest.h"

namespace portsig {
namespace testing {

// Whether `fd` polls readable now, without waiting.
inline bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

// Waits (for ever: the caller's watchdog ends a hang) until `fd` polls
// readable; a failure if it polls anything else (an error, a hang-up).
inline void PollUntilReadable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  while (poll(&p, 1, -1) != 1) {
  }
  ASSERT_TRUE(p.revents & POLLIN) << "fd " << fd << " revents " << p.revents;
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_READABLE_H_

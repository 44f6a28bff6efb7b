#include "tests/testing/stepped_wall_clock.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

namespace {
std::atomic<long long> g_wall_offset_s{0};
}  // namespace

// Every clock_gettime of the process lands here: the system call itself,
// then the offset.
extern "C" int clock_gettime(clockid_t clock, struct timespec* ts) {
  const int result = static_cast<int>(syscall(SYS_clock_gettime, clock, ts));
  if (result == 0 &&
      (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    ts->tv_sec += g_wall_offset_s.load();
  }
  return result;
}

namespace portsig {
namespace testing {

void SetWallClockOffset(long long seconds) { g_wall_offset_s.store(seconds); }

}  // namespace testing
}  // namespace portsig

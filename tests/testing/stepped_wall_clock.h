// A wall clock a test can step without touching the machine's: linking
// this library defines clock_gettime for the whole test binary (absl::Now()
// in Debian's shared Abseil, the C library and the sanitizers call it
// through the dynamic linker), and CLOCK_REALTIME readings get the offset
// set here added. The monotonic clocks are left alone.
//
// For tests that check a timed wait is measured on the monotonic clock: a
// wall clock stepped back while the wait sleeps must not stretch it.
#ifndef PORTSIG_TESTS_TESTING_STEPPED_WALL_CLOCK_H_
#define PORTSIG_TESTS_TESTING_STEPPED_WALL_CLOCK_H_

namespace portsig {
namespace testing {

// From now on, CLOCK_REALTIME reads `seconds` away from the machine's
// (negative: in the past). 0 puts it back.
void SetWallClockOffset(long long seconds);

constexpr long long kOneDaySeconds = 24 * 60 * 60;

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_STEPPED_WALL_CLOCK_H_

// sigwatch's Reporter when its output fails: the first failed write is
// recorded with its errno, and nothing more is written, in either format.
// A report written after a failure on a broken pipe would raise another
// SIGPIPE, which relay mode catches and reports: a loop that never blocks.
#include <signal.h>
#include <stdio.h>

#include <cerrno>
#include <vector>

#include "gtest/gtest.h"
#include "os_signal/delivery.h"
#include "os_signal/signal.h"
#include "tools/reporter.h"

namespace portsig {
namespace sigwatch {
namespace {

// A FILE whose every write fails with EPIPE, counting the attempts.
struct BrokenOutput {
  int writes = 0;

  static ssize_t Write(void* cookie, const char*, size_t) {
    ++static_cast<BrokenOutput*>(cookie)->writes;
    errno = EPIPE;
    return -1;
  }

  FILE* Open() {
    cookie_io_functions_t functions = {};
    functions.write = &BrokenOutput::Write;
    return fopencookie(this, "w", functions);
  }
};

class ReporterWriteErrorTest : public ::testing::TestWithParam<Format> {};

TEST_P(ReporterWriteErrorTest, NothingIsWrittenAfterTheFirstFailure) {
  BrokenOutput output;
  FILE* out = output.Open();
  ASSERT_NE(out, nullptr);
  Reporter reporter(GetParam(), "posix", {Signal(SIGPIPE)},
                    Reporter::Clock::now(), out);
  EXPECT_EQ(reporter.write_error(), 0);
  Delivery delivery;
  delivery.signal = Signal(SIGPIPE);
  reporter.Report(delivery, "ignore");
  EXPECT_EQ(reporter.write_error(), EPIPE);
  const int attempts = output.writes;
  EXPECT_GE(attempts, 1);

  reporter.Report(delivery, "ignore");
  reporter.Report(delivery);
  Summary summary;
  summary.reason = "child-exited";
  reporter.PrintSummary(summary);
  EXPECT_EQ(output.writes, attempts);
  EXPECT_EQ(reporter.write_error(), EPIPE);
  // Deliveries are still counted: the exit conditions depend on them.
  EXPECT_EQ(reporter.count(), 3u);
  std::fclose(out);
}

INSTANTIATE_TEST_SUITE_P(BothFormats, ReporterWriteErrorTest,
                         ::testing::Values(Format::kText, Format::kJson));

}  // namespace
}  // namespace sigwatch
}  // namespace portsig

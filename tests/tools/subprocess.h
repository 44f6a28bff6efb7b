// Subprocess: runs a program with its stdout and stderr on pipes, so a test
// can wait for a line, signal the process, and collect its exit status.
//
// Every wait is bounded: it gives up after the timeout it is given and
// reports failure, so a hung program fails the test instead of hanging the
// run. The destructor SIGKILLs and reaps a process still running.
#ifndef PORTSIG_TESTS_TOOLS_SUBPROCESS_H_
#define PORTSIG_TESTS_TOOLS_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace portsig {
namespace testing {

class Subprocess {
 public:
  enum Stream { kStdout = 0, kStderr = 1 };

  // The program starts with exactly `blocked` blocked (its signal mask,
  // inherited across exec as from a shell or supervisor that left it so).
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv,
      const std::vector<int>& blocked = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // The first line read on `stream` (from the start of the run) containing
  // `needle`, reading more output as needed for up to `timeout`.
  std::optional<std::string> WaitForLine(Stream stream,
                                         absl::string_view needle,
                                         absl::Duration timeout);

  // The raw wait status once the process exits, with all of its output
  // read; nullopt if it is still running after `timeout`.
  std::optional<int> Wait(absl::Duration timeout);

  // Complete lines read so far.
  const std::vector<std::string>& lines(Stream stream) const {
    return lines_[stream];
  }
  // Everything read so far, for failure messages.
  std::string Transcript() const;

 private:
  Subprocess() = default;
  // Reads what is available, waiting up to `timeout` for something.
  void Pump(absl::Duration timeout);
  void ReadFrom(Stream stream);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int fds_[2] = {-1, -1};
  std::string partial_[2];
  std::vector<std::string> lines_[2];
};

// "exited 3", "killed by signal 9".
std::string DescribeStatus(int status);

// The sigwatch binary under test, as an absolute path: tests run from the
// runfiles root of this workspace, and a path handed to a shell script or
// a pseudo-terminal's child must not depend on where that runs.
std::string SigwatchPath();

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TOOLS_SUBPROCESS_H_

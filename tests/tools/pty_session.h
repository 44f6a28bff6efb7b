// PtySession: runs a program as the session leader of a new pseudo-terminal,
// which is its controlling terminal, stdin, stdout and stderr, so a test can
// type to it and read what it prints, as a user at that terminal would.
//
// Every wait is bounded by the timeout it is given. The destructor closes
// the terminal (hanging up the session) and SIGKILLs and reaps the leader if
// it still runs.
#ifndef PORTSIG_TESTS_TOOLS_PTY_SESSION_H_
#define PORTSIG_TESTS_TOOLS_PTY_SESSION_H_

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

class PtySession {
 public:
  static absl::StatusOr<std::unique_ptr<PtySession>> Start(
      const std::vector<std::string>& argv);
  ~PtySession();
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  pid_t pid() const { return pid_; }

  // Writes `text` to the terminal as typed input ("\x1a" is Ctrl-Z).
  bool Type(absl::string_view text);

  // Whether the output, from the start of the session, contains `needle`
  // (the terminal writes "\r\n" for "\n"), reading more for up to
  // `timeout`.
  bool WaitForOutput(absl::string_view needle, absl::Duration timeout);

  // The leader's raw wait status once it exits; nullopt if it still runs
  // after `timeout`.
  std::optional<int> Wait(absl::Duration timeout);

  // Everything read so far.
  const std::string& output() const { return output_; }

 private:
  PtySession() = default;
  // Reads what is available, waiting up to `timeout` for something.
  void Pump(absl::Duration timeout);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int master_ = -1;
  // Reading the terminal failed: nothing has it open any more.
  bool hung_up_ = false;
  std::string output_;
};

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TOOLS_PTY_SESSION_H_

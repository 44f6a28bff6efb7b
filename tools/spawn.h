// SpawnInOwnGroup: how relay mode starts its command.
//
// Promises:
// - The command runs in a new process group of its own (its pid), so the
//   relay can signal everything it starts at once.
// - It starts with the dispositions it would have had without the relay:
//   each of `reset` that was SIG_IGN when the relay started (as recorded by
//   RecordIgnored, before portsig replaced it) stays ignored, the others are
//   default; its signal mask is `mask`.
// - A signal sent to its group between fork and exec waits (blocked) and
//   then takes that disposition; it is never absorbed by the relay's
//   handler in the child.
// - When `foreground_fd` is not -1, the command's group is made the
//   foreground group of that terminal before exec (see terminal.h), so the
//   command never runs in the background of a terminal it was meant to own.
// - It returns once the command has been exec'd, or with the errno exec
//   failed with (the child has then been reaped).
#ifndef PORTSIG_TOOLS_SPAWN_H_
#define PORTSIG_TOOLS_SPAWN_H_

#include <signal.h>
#include <sys/types.h>

#include <bitset>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portsig {
namespace sigwatch {

// Which signals are SIG_IGN now.
using IgnoredSet = std::bitset<NSIG>;
IgnoredSet RecordIgnored(const std::vector<int>& signals);

struct Spawned {
  pid_t pid = -1;
  // 0 once the command runs; else exec's errno.
  int exec_error = 0;
};

// Errors: fork or pipe failed (nothing was started).
absl::StatusOr<Spawned> SpawnInOwnGroup(const std::vector<std::string>& argv,
                                        const std::vector<int>& reset,
                                        const IgnoredSet& ignored,
                                        const sigset_t& mask,
                                        int foreground_fd);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_SPAWN_H_

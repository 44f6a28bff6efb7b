// BlockTtouForOwnWrites: lets sigwatch write to its terminal from the
// background when the terminal has `stty tostop` set.
//
// With tostop, a write to the terminal from a background process group
// sends SIGTTOU to the group, unless the writing thread blocks or ignores
// it. sigwatch catches SIGTTOU (watch mode when asked to, relay mode always,
// to forward it), and for a caught SIGTTOU the kernel restarts the write,
// which sends it again: a busy loop that never writes, and in relay mode
// never forwards a signal or reaps the command again. With SIGTTOU blocked
// in the thread that writes, the write goes through, as it does under tini
// and dumb-init (which block every signal). A SIGTTOU sent to sigwatch
// (kill, a terminal's job control) still arrives: portsig's own thread takes
// the signals it was asked for whatever the other threads block.
#ifndef PORTSIG_TOOLS_BACKGROUND_WRITES_H_
#define PORTSIG_TOOLS_BACKGROUND_WRITES_H_

#include <signal.h>

namespace portsig {
namespace sigwatch {

// Blocks SIGTTOU in the calling thread (the one that writes) for good;
// returns the thread's mask from before, which a command sigwatch starts
// must get instead.
sigset_t BlockTtouForOwnWrites();

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_BACKGROUND_WRITES_H_

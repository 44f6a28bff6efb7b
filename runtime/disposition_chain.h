// The dispositions portsig stands in for, one chain per signal, kept in
// step with the kernel's disposition; shared by the runtime, which writes
// it, and portsig's handler, which reads it without a lock.
//
// chain[0] is what the signal had before portsig first touched it. Each
// chain[i], i > 0, is a disposition a host put in place over portsig's
// handler (found there when portsig went to restore), which may chain back
// into portsig's handler: what that call stands for is chain[i - 1]. The
// top is the disposition portsig's handler stands in for while installed,
// and what Stop and Reset put back: always what the host installed last
// (signal_handler.h states these rules as a host sees them).
//
// What it promises, and to whom:
// - Writers. The runtime, holding its lock: InstallHandler, InstallIgnore
//   and RestoreSaved, which promise no async-signal-safety (an install's
//   error builds a Status message). Portsig's handler: ResetHandOnDelivery.
//   Every change to a signal's chain, and every sigaction(2) by which these
//   set that signal's disposition, is made inside one write of that
//   signal's sequence word, with every signal blocked on the writing
//   thread, so a handler reset finds the kernel and the chain in step;
//   writers of one signal exclude each other (the runtime's lock does not
//   order them against the handler's reset). (Taking a default action,
//   portsig's handler also sets SIG_DFL itself, outside any write:
//   signal_handler.cc.)
// - Readers. Read (the handler) sees a chain as it was between two writes,
//   never one half written; it spins only while a writer on another thread
//   is mid-change, a few system calls at most (a writer's own thread cannot
//   enter the handler: its signals are blocked). RestoreCanWait, under the
//   runtime's lock, reads without the sequence word: the lock keeps the
//   runtime's writers out, and a concurrent handler reset can only turn a
//   SA_RESETHAND host handler at the top into SIG_DFL, which it sees before
//   or after.
// - Async-signal-safe: Read, ResetHandOnDelivery, HandlerInstalled,
//   IsOurHandler, OurHandlerInPlace, KernelIgnores, and the fork pair.
// - Around fork(): HoldHandlerResetsForFork waits for the handler's resets
//   in progress on other threads and holds new ones off until the release,
//   so no child is copied with a chain half written by a thread it does not
//   have.
//
// There is one instance, constant-initialized in signal_handler.cc with the
// handler it installs and recognises (signal_handler.h's Dispositions()).
#ifndef PORTSIG_RUNTIME_DISPOSITION_CHAIN_H_
#define PORTSIG_RUNTIME_DISPOSITION_CHAIN_H_

#include <signal.h>

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "platform/signal_names.h"

namespace portsig {
namespace runtime {

class DispositionChains {
 public:
  // portsig's handler, as installed (SA_SIGINFO).
  using HandlerFunction = void (*)(int, siginfo_t*, void*);
  // What portsig itself put in place: its handler, or SIG_IGN.
  enum Installed : int { kNothing = 0, kOurHandler = 1, kOurIgnore = 2 };
  // Host layers beyond this lose their newest distinction rather than the
  // original disposition.
  static constexpr int kChainDepth = 8;

  constexpr explicit DispositionChains(HandlerFunction ours) : ours_(ours) {}
  DispositionChains(const DispositionChains&) = delete;
  DispositionChains& operator=(const DispositionChains&) = delete;

  // --- The runtime, holding its lock ---

  // Installs portsig's handler (SA_SIGINFO | SA_ONSTACK | SA_RESTART, every
  // signal blocked while it runs) unless portsig installed it already, first
  // noting the disposition in place as the one it stands in for.
  absl::Status InstallHandler(int signo);
  // Sets SIG_IGN, noting the disposition in place as InstallHandler does.
  absl::Status InstallIgnore(int signo);
  // Puts back what portsig stands in for if portsig's handler (installed by
  // portsig or put back by a host) or portsig's SIG_IGN is in place; else
  // leaves the host's disposition and remembers it as the one to stand in
  // for next. Ends the process (platform::Fatal) if the kernel refuses.
  void RestoreSaved(int signo);
  // Whether restoring signo can wait (deferred_restore.h): portsig installed
  // its handler (a host may have put its own over it since: the restore
  // then leaves that), and what it stands in for is SIG_DFL for a signal
  // whose default action ends the process without a core dump. (Faults and the
  // other core signals are left out: a dump would show portsig's handler
  // re-raising.) Under the runtime's lock.
  bool RestoreCanWait(int signo) const;
  // Around fork(), under the runtime's lock with every signal blocked on
  // the forking thread; the parent and the child each call the release.
  void HoldHandlerResetsForFork();
  void ReleaseHandlerResetsAfterFork();

  // --- Any thread, and the handler ---

  // Whether portsig's handler is installed for signo (by this table).
  bool HandlerInstalled(int signo) const {
    return table_[signo].installed.load(std::memory_order_relaxed) ==
           kOurHandler;
  }
  // Whether `action` runs portsig's handler, in either form: a host that
  // saved it with signal(), or read sa_handler, may put it back without
  // SA_SIGINFO.
  bool IsOurHandler(const struct sigaction& action) const {
    return reinterpret_cast<void*>(action.sa_handler) ==
           reinterpret_cast<void*>(ours_);
  }
  // Whether the kernel's current disposition for signo is portsig's handler
  // (false when a host replaced it).
  bool OurHandlerInPlace(int signo) const;
  // Whether the kernel's current disposition for signo is SIG_IGN.
  bool KernelIgnores(int signo) const;

  // --- portsig's handler ---

  // One consistent view of a signal's chain.
  struct View {
    int installed = kNothing;
    int top = -1;             // -1: nothing saved yet
    bool have_entry = false;  // `entry` is chain[min(at_most, top)]
    struct sigaction entry;
  };
  // Reads installed and top and, if min(at_most, top) is 0 or more, that
  // chain entry.
  View Read(int signo, int at_most) const;
  // portsig's handler calls `called`, which has SA_RESETHAND, in the
  // kernel's place, for a signal the kernel delivered to it: puts SIG_DFL
  // where the kernel would have (chain[index] if it still holds `called`,
  // and the kernel's disposition if that is `called`), keeping its flags
  // and mask. Never overwrites portsig's handler installed meanwhile.
  void ResetHandOnDelivery(int signo, int index,
                           const struct sigaction& called);

 private:
  class Writer;
  struct Table {
    // Even between writes, odd during one (see Writer).
    std::atomic<uint32_t> seq{0};
    std::atomic<int> installed{kNothing};
    std::atomic<int> top{-1};
    struct sigaction chain[kChainDepth] = {};
  };

  void NoteBeforeInstall(Writer& w, int signo, const struct sigaction& now);
  absl::Status Install(int signo, const struct sigaction& action, int what);
  const struct sigaction& TopUnderLock(int signo) const;

  const HandlerFunction ours_;
  // Handler resets (ResetHandOnDelivery) in progress, times 2, plus 1 while
  // a fork() is under way.
  std::atomic<uint32_t> reset_gate_{0};
  Table table_[platform::kMaxSignal + 1];
};

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_DISPOSITION_CHAIN_H_

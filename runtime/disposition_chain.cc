#include "runtime/disposition_chain.h"

#include <errno.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "platform/fatal.h"
#include "platform/own_restorer.h"
#include "platform/scoped_signal_block.h"
#include "platform/signal_names.h"
#include "platform/test_hooks.h"
#include "runtime/kernel_disposition.h"

namespace portsig {
namespace runtime {
namespace {

// struct sigaction copied a word at a time with relaxed atomics, so a
// reader racing a writer reads a torn value the sequence word discards,
// never a data race.
using Word = uintptr_t;
static_assert(sizeof(struct sigaction) % sizeof(Word) == 0,
              "struct sigaction is copied word by word");
constexpr size_t kWords = sizeof(struct sigaction) / sizeof(Word);
void LoadAction(const struct sigaction& from, struct sigaction* to) {
  const Word* src = reinterpret_cast<const Word*>(&from);
  Word* dst = reinterpret_cast<Word*>(to);
  for (size_t i = 0; i < kWords; ++i) {
    dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
  }
}
void StoreAction(const struct sigaction& from, struct sigaction* to) {
  const Word* src = reinterpret_cast<const Word*>(&from);
  Word* dst = reinterpret_cast<Word*>(to);
  for (size_t i = 0; i < kWords; ++i) {
    __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
  }
}

absl::Status SigactionError(int signo) {
  return absl::ErrnoToStatus(
      errno, absl::StrCat("sigaction(", platform::SignalName(signo), ")"));
}

}  // namespace

// Changes a signal's table, and the kernel's disposition for it: every
// sigaction(2) that sets the disposition of a signal portsig has a table
// for is made inside a Writer, so the handler's own writer
// (ResetHandOnDelivery) sees the kernel and the table agree. Constructed
// under the runtime's lock, or by the handler. The sequence word's odd
// value is taken by compare and swap, so the two exclude each other.
// Blocks every signal on this thread meanwhile, so portsig's handler cannot
// spin in Read on a change its own thread is making; waits (spinning) while
// another thread writes, which is a few system calls at most.
// Async-signal-safe.
class DispositionChains::Writer {
 public:
  explicit Writer(Table& t) : t_(t) {
    uint32_t seq = t_.seq.load(std::memory_order_relaxed);
    for (;;) {
      if (seq & 1) {
        seq = t_.seq.load(std::memory_order_relaxed);
        continue;
      }
      if (t_.seq.compare_exchange_weak(seq, seq + 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        break;
      }
    }
    std::atomic_thread_fence(std::memory_order_release);
  }
  ~Writer() { t_.seq.fetch_add(1, std::memory_order_release); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  int installed() const { return t_.installed.load(std::memory_order_relaxed); }
  int top() const { return t_.top.load(std::memory_order_relaxed); }
  // chain[index]; 0 <= index <= top().
  struct sigaction Entry(int index) const {
    struct sigaction entry;
    LoadAction(t_.chain[index], &entry);
    return entry;
  }
  void Store(int index, const struct sigaction& action) {
    StoreAction(action, &t_.chain[index]);
  }
  void SetInstalled(int what) {
    t_.installed.store(what, std::memory_order_relaxed);
  }
  // chain[top] = action (the first entry if nothing is saved).
  void ReplaceTop(const struct sigaction& action) {
    if (top() < 0) {
      Push(action);
      return;
    }
    StoreAction(action, &t_.chain[top()]);
  }
  // A new top over the current one. A chain full of host layers loses its
  // newest distinction rather than its original disposition.
  void Push(const struct sigaction& action) {
    if (top() == kChainDepth - 1) {
      StoreAction(action, &t_.chain[top()]);
      return;
    }
    StoreAction(action, &t_.chain[top() + 1]);
    t_.top.store(top() + 1, std::memory_order_relaxed);
  }
  void Pop() {
    if (top() > 0) t_.top.store(top() - 1, std::memory_order_relaxed);
  }

 private:
  platform::ScopedSignalBlock block_;
  Table& t_;
};

DispositionChains::View DispositionChains::Read(int signo, int at_most) const {
  const Table& t = table_[signo];
  for (;;) {
    View view;
    const uint32_t before = t.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    view.installed = t.installed.load(std::memory_order_relaxed);
    view.top = t.top.load(std::memory_order_relaxed);
    const int index = at_most < view.top ? at_most : view.top;
    if (index >= 0 && index < kChainDepth) {
      LoadAction(t.chain[index], &view.entry);
      view.have_entry = true;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (t.seq.load(std::memory_order_relaxed) == before) return view;
  }
}

// Written only by the runtime's writers, which its lock excludes, and by a
// handler reset (see the header): no sequence word needed to read there.
const struct sigaction& DispositionChains::TopUnderLock(int signo) const {
  return table_[signo].chain[table_[signo].top.load(std::memory_order_relaxed)];
}

// Under the runtime's lock: brings the chain up to date with what the host
// did since portsig last looked, given the disposition in place now, before
// portsig puts its handler or SIG_IGN over it. Whatever the host installed
// last becomes the top, the disposition the new subscription stands in for.
void DispositionChains::NoteBeforeInstall(Writer& w, int signo,
                                          const struct sigaction& now) {
  switch (w.installed()) {
    case kOurHandler:
      // Only Ignore gets here. A host handler over portsig's chains to it.
      if (!IsOurHandler(now)) w.Push(now);
      break;
    case kOurIgnore:
      if (!IsOurHandler(now) && !IsPlain(now, SIG_IGN)) w.ReplaceTop(now);
      break;
    default:
      if (w.top() < 0) {
        w.Push(IsOurHandler(now) ? DefaultAction() : now);
      } else if (IsOurHandler(now)) {
        // Put back by the owner of the top as it left (it had saved
        // portsig's handler): what is under it is in force again.
        w.Pop();
      } else {
        w.ReplaceTop(now);
      }
  }
}

absl::Status DispositionChains::Install(int signo,
                                        const struct sigaction& action,
                                        int what) {
#ifdef PORTSIG_TEST_HOOKS
  if (test_hooks::fail_install_signo.load() == signo) {
    return absl::InternalError(
        absl::StrCat("injected sigaction failure for ", signo));
  }
#endif
  {
    // The kernel's disposition is read and replaced inside the writer: see
    // ResetHandOnDelivery.
    Writer w(table_[signo]);
    struct sigaction now;
    if (sigaction(signo, nullptr, &now) != 0) return SigactionError(signo);
    NoteBeforeInstall(w, signo, now);
    // portsig's own handler goes in with portsig's restorer, which spares
    // the handler a read of the disposition on every signal
    // (platform/own_restorer.h).
    const int set = what == kOurHandler
                        ? platform::SigactionWithOwnRestorer(signo, action)
                        : sigaction(signo, &action, nullptr);
    if (set != 0) return SigactionError(signo);
    w.SetInstalled(what);
  }
  PORTSIG_TEST_HOOK(disposition_changed, signo);
  return absl::OkStatus();
}

absl::Status DispositionChains::InstallHandler(int signo) {
  if (HandlerInstalled(signo)) return absl::OkStatus();
  struct sigaction ours;
  std::memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = ours_;
  // SA_ONSTACK: a host's sigaltstack serves a stack overflow that reaches
  // portsig's handler as a fault.
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  // Go blocks every signal while its handler runs; so do we. It also keeps
  // the note backend's lock safe from a nested handler on the same thread.
  // The C library's own signals too, which sigfillset leaves out: see
  // AddReservedSignals (kernel_disposition.h).
  sigfillset(&ours.sa_mask);
  AddReservedSignals(&ours.sa_mask);
  return Install(signo, ours, kOurHandler);
}

absl::Status DispositionChains::InstallIgnore(int signo) {
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return Install(signo, ignore, kOurIgnore);
}

void DispositionChains::RestoreSaved(int signo) {
  PORTSIG_TEST_HOOK(restore_saved_begin, signo);
  {
    // The kernel's disposition is read and put back inside the writer: see
    // ResetHandOnDelivery.
    Writer w(table_[signo]);
    const int what = w.installed();
    struct sigaction now;
    MustSigaction(signo, nullptr, &now,
                  "cannot read the disposition to restore");
    // Never touched, or already restored and left to the host.
    if (what == kNothing && !IsOurHandler(now)) return;
    bool put_back = false;
    w.SetInstalled(kNothing);
    if (IsOurHandler(now)) {
      // portsig's handler, installed by portsig, or put back by a host
      // that had saved it (as it uninstalled itself): what was under that
      // host is in force again.
      if (what == kNothing) w.Pop();
      put_back = true;
    } else if (what == kOurIgnore && IsPlain(now, SIG_IGN)) {
      put_back = true;
    } else if (what == kOurHandler) {
      // The host replaced portsig's handler; its choice stands. It may
      // chain to portsig's handler, which then goes on to what it stood
      // in for.
      w.Push(now);
    } else if (what == kOurIgnore) {
      w.ReplaceTop(now);
    }
    if (!put_back) return;
    const struct sigaction previous =
        w.top() >= 0 ? w.Entry(w.top()) : DefaultAction();
    int restored;
#ifdef PORTSIG_TEST_HOOKS
    if (test_hooks::fail_restore_signo.load() == signo) {
      errno = EINVAL;
      restored = -1;
    } else
#endif
    {
      restored = sigaction(signo, &previous, nullptr);
    }
    // The table says the disposition was put back: if the kernel refused,
    // the signal would go on reaching a handler that stands in for nothing.
    if (restored != 0) {
      platform::Fatal("cannot restore the disposition", signo, errno);
    }
  }
  PORTSIG_TEST_HOOK(disposition_changed, signo);
}

// portsig's handler calls `called`, which has SA_RESETHAND, in the kernel's
// place: an unwanted signal delivered to portsig's handler (while Stop
// restores, say). The kernel would have put SIG_DFL in place of `called` as
// it delivered the signal, so that the next one takes the default action.
// Here that place is chain[index] (what portsig's handler stands in for and
// what Stop puts back), if it still holds `called`, and the kernel's
// disposition if a restore has already put `called` back there. As a writer
// of the table, so a restore, or a Notify installing portsig's handler,
// runs wholly before or after this: after, it puts back or stands in for
// SIG_DFL; before, this finds portsig's handler in the kernel and leaves it
// (a new subscription is never overwritten). Async-signal-safe: atomics,
// pthread_sigmask and sigaction(2).
void DispositionChains::ResetHandOnDelivery(int signo, int index,
                                            const struct sigaction& called) {
  PORTSIG_TEST_HOOK(resethand_before_reset, signo);
  uint32_t gate = reset_gate_.load(std::memory_order_relaxed);
  for (;;) {
    if (gate & 1) {
      gate = reset_gate_.load(std::memory_order_relaxed);
      continue;
    }
    if (reset_gate_.compare_exchange_weak(gate, gate + 2,
                                          std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
      break;
    }
  }
  {
    Writer w(table_[signo]);
    // What the kernel leaves: only the handler becomes SIG_DFL; flags and
    // mask stay, and sigaction() shows them (a host comparing views sees
    // no difference from a reset without portsig).
    struct sigaction dfl = called;
    dfl.sa_handler = SIG_DFL;
    if (index >= 0 && index <= w.top() && SameAction(w.Entry(index), called)) {
      w.Store(index, dfl);
    }
    struct sigaction now;
    MustSigaction(signo, nullptr, &now,
                  "cannot read the disposition to reset a SA_RESETHAND "
                  "handler");
    if (SameAction(now, called)) {
      MustSigaction(signo, &dfl, nullptr,
                    "cannot reset a SA_RESETHAND handler");
    }
  }
  reset_gate_.fetch_sub(2, std::memory_order_release);
}

void DispositionChains::HoldHandlerResetsForFork() {
  uint32_t expected = 0;
  while (!reset_gate_.compare_exchange_weak(
      expected, 1, std::memory_order_acquire, std::memory_order_relaxed)) {
    expected = 0;
  }
}

void DispositionChains::ReleaseHandlerResetsAfterFork() {
  reset_gate_.store(0, std::memory_order_release);
}

bool DispositionChains::RestoreCanWait(int signo) const {
  const Table& t = table_[signo];
  if (t.installed.load(std::memory_order_relaxed) != kOurHandler ||
      t.top.load(std::memory_order_relaxed) < 0 ||
      platform::IsSynchronousSignal(signo) || DefaultIsIgnore(signo) ||
      signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU ||
      // A core dump would show portsig's handler re-raising, not the
      // sender's signal.
      signo == SIGQUIT || signo == SIGABRT || signo == SIGXCPU ||
      signo == SIGXFSZ) {
    return false;
  }
  return IsPlain(TopUnderLock(signo), SIG_DFL);
}

bool DispositionChains::OurHandlerInPlace(int signo) const {
  struct sigaction current;
  MustSigaction(signo, nullptr, &current, "cannot read the disposition");
  return IsOurHandler(current);
}

bool DispositionChains::KernelIgnores(int signo) const {
  struct sigaction current;
  MustSigaction(signo, nullptr, &current, "cannot read the disposition");
  return IsPlain(current, SIG_IGN);
}

}  // namespace runtime
}  // namespace portsig

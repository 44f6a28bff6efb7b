#include "runtime/sigaction_table.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "platform/signal_names.h"
#include "platform/signal_record.h"
#include "platform/test_hooks.h"
#include "platform/this_thread.h"

namespace portsig {
namespace runtime {
namespace {

using platform::kMaxSignal;

std::atomic<platform::SigQueue*> g_queue{nullptr};

// What each signal had before portsig touched it. Written only while
// portsig's handler is not installed for that signal, so the handler reads a
// stable value; `g_saved_valid` publishes it.
struct sigaction g_saved[kMaxSignal + 1];
std::atomic<bool> g_saved_valid[kMaxSignal + 1];
// What portsig itself put in place: its handler, or SIG_IGN.
enum Installed : int { kNothing = 0, kOurHandler = 1, kOurIgnore = 2 };
std::atomic<int> g_installed[kMaxSignal + 1];

// Signals whose default action is to do nothing.
bool DefaultIsIgnore(int signo) {
  return signo == SIGCHLD || signo == SIGCONT || signo == SIGURG ||
         signo == SIGWINCH;
}

bool IsOurHandler(const struct sigaction& action);

// Takes the default action for signo from inside the handler: put SIG_DFL
// back, re-raise at this thread, let it through. Kill and core signals end
// the process here; a stop signal stops it, and on SIGCONT portsig's handler
// goes back in place. Only async-signal-safe calls.
void TakeDefaultAction(int signo) {
  if (DefaultIsIgnore(signo)) return;
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  struct sigaction ours;
  sigaction(signo, &dfl, &ours);
  platform::SignalThisThread(signo);
  sigset_t just_this;
  sigemptyset(&just_this);
  sigaddset(&just_this, signo);
  sigset_t old;
  pthread_sigmask(SIG_UNBLOCK, &just_this, &old);
  // Still alive: a stop signal, now continued. Put back what was there
  // (portsig's handler, or a host handler that chained into it) only if
  // nobody restored or replaced the disposition meanwhile; portsig's own
  // only if portsig still wants it installed.
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  PORTSIG_TEST_HOOK(default_action_resumed, signo);
  struct sigaction now;
  sigaction(signo, nullptr, &now);
  const bool untouched =
      !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
  if (untouched &&
      (!IsOurHandler(ours) ||
       g_installed[signo].load(std::memory_order_relaxed) == kOurHandler)) {
    sigaction(signo, &ours, nullptr);
  }
}

// Hands an unwanted signal to whatever was there before portsig.
void FallThrough(int signo, siginfo_t* info, void* context) {
  struct sigaction previous;
  if (g_saved_valid[signo].load(std::memory_order_acquire)) {
    previous = g_saved[signo];
  } else {
    // portsig put the old disposition back after this signal entered the
    // handler (a Stop racing it). Do what is in place now, which is what
    // the kernel would have done a moment later. If that is portsig's
    // handler again, a new Notify has saved the disposition anew since we
    // looked: use that copy.
    if (sigaction(signo, nullptr, &previous) != 0) {
      TakeDefaultAction(signo);
      return;
    }
    if (IsOurHandler(previous)) {
      if (!g_saved_valid[signo].load(std::memory_order_acquire)) {
        TakeDefaultAction(signo);
        return;
      }
      previous = g_saved[signo];
    }
  }
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) {
      previous.sa_sigaction(signo, info, context);
    }
    return;
  }
  if (previous.sa_handler == SIG_IGN) return;
  if (previous.sa_handler == SIG_DFL) {
    TakeDefaultAction(signo);
    return;
  }
  previous.sa_handler(signo);
}

void Handler(int signo, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  PORTSIG_TEST_HOOK(handler_entered, signo);
  platform::SigQueue* queue = g_queue.load(std::memory_order_acquire);
  // A fault raised by the kernel (si_code > 0) must not be relayed: returning
  // would re-run the faulting instruction forever.
  const bool from_fault = platform::IsSynchronousSignal(signo) &&
                          info != nullptr && info->si_code > 0;
  platform::SendResult result = platform::SendResult::kNotWanted;
  if (queue != nullptr && !from_fault) {
    result = queue->Send(signo, platform::RecordFromSiginfo(signo, info));
  }
  if (result == platform::SendResult::kNotWanted &&
      !(queue != nullptr && queue->Ignored(signo))) {
    FallThrough(signo, info, context);
  }
  errno = saved_errno;
}

bool IsOurHandler(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) && action.sa_sigaction == &Handler;
}

absl::Status SaveCurrent(int signo) {
  if (g_saved_valid[signo].load(std::memory_order_relaxed)) {
    return absl::OkStatus();
  }
  if (sigaction(signo, nullptr, &g_saved[signo]) != 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("sigaction(", platform::SignalName(signo), ")"));
  }
  if (IsOurHandler(g_saved[signo])) {
    // Our own handler left behind (never expected): saving it would make
    // FallThrough call itself. Treat the previous disposition as default.
    std::memset(&g_saved[signo], 0, sizeof(g_saved[signo]));
    g_saved[signo].sa_handler = SIG_DFL;
  }
  g_saved_valid[signo].store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Install(int signo, const struct sigaction& action, int what) {
#ifdef PORTSIG_TEST_HOOKS
  if (test_hooks::fail_install_signo.load() == signo) {
    return absl::InternalError(
        absl::StrCat("injected sigaction failure for ", signo));
  }
#endif
  if (absl::Status saved = SaveCurrent(signo); !saved.ok()) return saved;
  if (sigaction(signo, &action, nullptr) != 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("sigaction(", platform::SignalName(signo), ")"));
  }
  g_installed[signo].store(what, std::memory_order_relaxed);
  PORTSIG_TEST_HOOK(disposition_changed, signo);
  return absl::OkStatus();
}

}  // namespace

void SetHandlerQueue(platform::SigQueue* queue) {
  g_queue.store(queue, std::memory_order_release);
}

absl::Status InstallHandler(int signo) {
  if (g_installed[signo].load(std::memory_order_relaxed) == kOurHandler) {
    return absl::OkStatus();
  }
  struct sigaction ours;
  std::memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = &Handler;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  // Go blocks every signal while its handler runs; so do we. It also keeps
  // the note backend's lock safe from a nested handler on the same thread.
  sigfillset(&ours.sa_mask);
  return Install(signo, ours, kOurHandler);
}

absl::Status InstallIgnore(int signo) {
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return Install(signo, ignore, kOurIgnore);
}

void RestoreSaved(int signo) {
  PORTSIG_TEST_HOOK(restore_saved_begin, signo);
  int what = g_installed[signo].load(std::memory_order_relaxed);
  if (what == kNothing || !g_saved_valid[signo].load()) return;
  struct sigaction current;
  sigaction(signo, nullptr, &current);
  bool still_ours = what == kOurHandler ? IsOurHandler(current)
                                        : !(current.sa_flags & SA_SIGINFO) &&
                                              current.sa_handler == SIG_IGN;
  g_installed[signo].store(kNothing, std::memory_order_relaxed);
  if (!still_ours) {
    // The host replaced portsig's handler since; its choice stands. Keep the
    // saved disposition: the host's handler may chain to ours, which then
    // falls through to it.
    return;
  }
  sigaction(signo, &g_saved[signo], nullptr);
  g_saved_valid[signo].store(false, std::memory_order_release);
  PORTSIG_TEST_HOOK(disposition_changed, signo);
}

bool RestoreCanWait(int signo) {
  if (g_installed[signo].load(std::memory_order_relaxed) != kOurHandler ||
      !g_saved_valid[signo].load(std::memory_order_relaxed) ||
      platform::IsSynchronousSignal(signo) || DefaultIsIgnore(signo) ||
      signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU ||
      // A core dump would show portsig's handler re-raising, not the
      // sender's signal.
      signo == SIGQUIT || signo == SIGABRT || signo == SIGXCPU ||
      signo == SIGXFSZ) {
    return false;
  }
  const struct sigaction& saved = g_saved[signo];
  return !(saved.sa_flags & SA_SIGINFO) && saved.sa_handler == SIG_DFL;
}

bool HandlerInstalled(int signo) {
  return g_installed[signo].load(std::memory_order_relaxed) == kOurHandler;
}

bool KernelIgnores(int signo) {
  struct sigaction current;
  if (sigaction(signo, nullptr, &current) != 0) return false;
  return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN;
}

}  // namespace runtime
}  // namespace portsig

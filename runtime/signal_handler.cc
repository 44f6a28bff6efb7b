#include "runtime/signal_handler.h"

#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>

#include "absl/base/attributes.h"
#include "platform/fatal.h"
#include "platform/mapped_memory.h"
#include "platform/own_restorer.h"
#include "platform/sanitizers.h"
#include "platform/signal_names.h"
#include "platform/signal_record.h"
#include "platform/test_hooks.h"
#include "platform/this_thread.h"
#include "runtime/disposition_chain.h"
#include "runtime/kernel_disposition.h"

namespace portsig {
namespace runtime {
namespace {

using platform::kMaxSignal;

std::atomic<platform::SigQueue*> g_queue{nullptr};

void Handler(int signo, siginfo_t* info, void* context);

// The dispositions portsig's handler stands in for (disposition_chain.h):
// one table, which knows this handler by its address. Constant-initialized,
// so it is there before any constructor runs (a host's static initializer
// may already subscribe).
ABSL_CONST_INIT DispositionChains g_dispositions(&Handler);

// pthread_sigmask cannot fail with valid arguments; as with MustSigaction
// (kernel_disposition.h), if it does the process ends, saying which.
// Async-signal-safe.
void MustSigmask(int how, const sigset_t* set, sigset_t* old, int signo) {
  const int err = pthread_sigmask(how, set, old);
  if (err != 0) {
    platform::Fatal("pthread_sigmask failed in the signal handler", signo, err);
  }
}

// Takes the default action for signo from inside the handler: put SIG_DFL
// back, re-raise at this thread, let it through. Kill and core signals end
// the process here; a stop signal stops it, and on SIGCONT portsig's handler
// goes back in place. Only async-signal-safe calls.
void TakeDefaultAction(int signo) {
  if (DefaultIsIgnore(signo)) return;
  const struct sigaction dfl = DefaultAction();
  struct sigaction ours;
  MustSigaction(signo, &dfl, &ours,
                "cannot put SIG_DFL in place for the default action");
  platform::SignalThisThread(signo);
  sigset_t just_this;
  sigemptyset(&just_this);
  sigaddset(&just_this, signo);
  sigset_t old;
  MustSigmask(SIG_UNBLOCK, &just_this, &old, signo);
  // Still alive: a stop signal, now continued. Put back what was there
  // (portsig's handler, or a host handler that chained into it) only if
  // nobody restored or replaced the disposition meanwhile; portsig's own
  // only if portsig still wants it installed.
  MustSigmask(SIG_SETMASK, &old, nullptr, signo);
  PORTSIG_TEST_HOOK(default_action_resumed, signo);
  struct sigaction now;
  MustSigaction(signo, nullptr, &now,
                "cannot read the disposition after a stop signal");
  if (IsPlain(now, SIG_DFL) && (!g_dispositions.IsOurHandler(ours) ||
                                g_dispositions.HandlerInstalled(signo))) {
    // With the restorer it had, so portsig's own keeps its fast path.
    if (platform::SigactionAsRead(signo, ours) != 0) {
      platform::Fatal("cannot put the handler back after a stop signal", signo,
                      errno);
    }
  }
}

// What a fault raised by the kernel gets when the disposition portsig
// stands in for is SIG_DFL (or SIG_IGN, which the kernel overrides for a
// fault): the process ends by that signal. SIG_DFL goes back in place; an
// instruction that faults (SEGV, BUS, FPE, ILL) runs again on return and
// the kernel ends the process with its own report of the fault; a trap or
// a seccomp SIGSYS does not repeat, so it is raised again here, unblocked.
void FaultDefaultAction(int signo) {
  const struct sigaction dfl = DefaultAction();
  MustSigaction(signo, &dfl, nullptr,
                "cannot put SIG_DFL in place for a fault");
  if (signo == SIGTRAP || signo == SIGSYS) {
    platform::SignalThisThread(signo);
    sigset_t just_this;
    sigemptyset(&just_this);
    sigaddset(&just_this, signo);
    MustSigmask(SIG_UNBLOCK, &just_this, nullptr, signo);
  }
}

// The mask the kernel would give `previous` as it delivered signo: the
// interrupted code's (`interrupted`; when unknown, the mask in force now),
// plus its sa_mask, plus the signal itself unless SA_NODEFER.
sigset_t MaskFor(const struct sigaction& previous, int signo,
                 const sigset_t* interrupted) {
  sigset_t mask;
  if (interrupted != nullptr) {
    mask = *interrupted;
  } else {
    MustSigmask(SIG_SETMASK, nullptr, &mask, signo);
  }
  for (int s = 1; s <= kMaxSignal; ++s) {
    if (sigismember(&previous.sa_mask, s) == 1) sigaddset(&mask, s);
  }
  if (!(previous.sa_flags & SA_NODEFER)) sigaddset(&mask, signo);
  return mask;
}

// Calls a host handler in the kernel's place, with `mask` (MaskFor) rather
// than portsig's own handler's, which blocks every signal. Two sigprocmask
// calls, only on this path.
void CallWithItsMask(const struct sigaction& previous, int signo,
                     siginfo_t* info, void* context, const sigset_t& mask) {
  sigset_t ours;
  MustSigmask(SIG_SETMASK, &mask, &ours, signo);
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(signo, info, context);
  } else {
    previous.sa_handler(signo);
  }
  MustSigmask(SIG_SETMASK, &ours, nullptr, signo);
}

// Calls a host handler for a fault as the kernel would have: SA_RESETHAND
// puts SIG_DFL in place first (so a re-raise, or the instruction faulting
// again, ends the process), and it runs with its own mask.
void CallForFault(const struct sigaction& previous, int signo, siginfo_t* info,
                  void* context, const sigset_t& mask) {
  if (previous.sa_flags & SA_RESETHAND) {
    const struct sigaction dfl = DefaultAction();
    MustSigaction(signo, &dfl, nullptr,
                  "cannot reset a SA_RESETHAND handler for a fault");
  }
  CallWithItsMask(previous, signo, info, context, mask);
}

// While portsig's handler runs a previous disposition's handler, this
// thread remembers it, so that when that handler chains back into portsig's
// (it replaced portsig's handler once and saved it as its own previous)
// portsig goes on down the chain instead of calling it again for ever.
// Thread-local with the initial-exec model: reading it is a plain load from
// the thread pointer, with nothing allocated, so it is async-signal-safe.
struct FallThroughRecord {
  int signo;
  bool fault;         // a fault raised by the kernel: never relayed
  int index;          // chain index called, or kKernelNow
  int suspects;       // entries nested in this one with no sign of a chain call
  const void* frame;  // the handler's frame that made the call
  const void* info;   // the arguments it passed
  const void* context;
  // The mask the called handler runs with, when portsig called it in the
  // kernel's place (fault or delivered): what a signal nested in it
  // interrupted.
  bool has_mask;
  sigset_t mask;
};
constexpr int kMaxRecords = 4;
// A nested entry with neither argument passed through (a host that kept
// portsig's handler as a plain function pointer calls it with whatever is
// in the registers) is taken for a chain call after this many.
constexpr int kMaxSuspects = 3;
struct FallThroughRecords {
  int count;
  FallThroughRecord record[kMaxRecords];
};
ABSL_CONST_INIT thread_local FallThroughRecords t_records
    ABSL_ATTRIBUTE_INITIAL_EXEC = {};

// The innermost live record for signo, given the frame of a new handler
// entry. A record whose frame is not above that one (stacks grow down) was
// left by a handler that did not return (siglongjmp): forgotten.
FallThroughRecord* LiveRecord(int signo, const void* frame) {
  FallThroughRecords& records = t_records;
  while (records.count > 0 &&
         records.record[records.count - 1].frame <= frame) {
    --records.count;
  }
  for (int i = records.count - 1; i >= 0; --i) {
    if (records.record[i].signo == signo) return &records.record[i];
  }
  return nullptr;
}

// `index` of the chain to fall through to when nothing nested says
// otherwise. Installed (portsig's handler in place, or a host's over it
// calling it): the top. Restored: portsig's handler was called by the host
// handler on top (or put back by its owner leaving), so what is under it;
// with no host layer, the signal raced Stop's restore and gets what is in
// place now.
constexpr int kKernelNow = -2;
int FreshIndex(int installed, int top) {
  if (installed != DispositionChains::kNothing) return top;
  if (top >= 1) return top - 1;
  return kKernelNow;
}

// Hands a signal nobody wants (or a fault) to what portsig stands in for:
// chain[index], the disposition in place now (kKernelNow), or the default
// action (below the chain). `frame` is the handler's own. `delivered`: the
// kernel delivered this signal to portsig's handler (it is not a host
// handler's call into it), so portsig calls the previous handler in the
// kernel's place and does what the kernel does for its flags, including its
// mask, built on `interrupted` (the mask of the code the signal interrupted,
// or nullptr when it is not known).
//
// `context` is never read here: in a nested entry it may be no pointer at
// all (a plain host handler calling portsig's as a plain function passes
// whatever its registers hold), and the kernel's ucontext, when there is
// one, is read by the caller into `interrupted`.
void FallThrough(int signo, siginfo_t* info, void* context, bool fault,
                 bool delivered, int index, int suspects, const void* frame,
                 const sigset_t* interrupted) {
  struct sigaction previous;
  if (index == kKernelNow) {
    // Stop restored chain[0] after this signal entered the handler: do what
    // is in place now, which is what the kernel would have done a moment
    // later; if that is portsig's handler again, chain[0].
    index = 0;
    MustSigaction(signo, nullptr, &previous,
                  "cannot read the disposition in the signal handler");
    if (g_dispositions.IsOurHandler(previous)) {
      DispositionChains::View view = g_dispositions.Read(signo, 0);
      if (!view.have_entry) {
        fault ? FaultDefaultAction(signo) : TakeDefaultAction(signo);
        return;
      }
      previous = view.entry;
    }
  } else {
    DispositionChains::View view = g_dispositions.Read(signo, index);
    if (index < 0 || !view.have_entry ||
        g_dispositions.IsOurHandler(view.entry)) {
      // Below the chain: nothing portsig knows of was there before.
      fault ? FaultDefaultAction(signo) : TakeDefaultAction(signo);
      return;
    }
    index = index < view.top ? index : view.top;
    previous = view.entry;
  }
  // The kernel reads SIG_DFL and SIG_IGN from the handler's value whatever
  // the flags say.
  if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
    if (fault) {
      FaultDefaultAction(signo);
    } else if (previous.sa_handler == SIG_DFL) {
      TakeDefaultAction(signo);
    }
    return;
  }
  const bool in_kernels_place = fault || delivered;
#ifdef PORTSIG_TSAN
  // Under TSan an unwanted signal's host handler gets the mask in force
  // now, so nothing is opened. TSan runs most handlers late, from its own
  // code, with every signal blocked; a signal that arrived while portsig
  // had opened the thread's mask for a host handler there made gcc 12's
  // TSan leave the thread blocking every signal for good (storm_test under
  // --config=tsan lost its final SIGUSR1, SIGUSR2 and SIGRTMIN+1; see
  // HostHandlerTest.ASignalDuringAHostHandlersOwnMaskLeavesTheThreadsMask).
  // Faults are not affected: TSan runs their handlers at once.
  if (!fault) interrupted = nullptr;
#endif
  sigset_t mask;
  sigemptyset(&mask);
  if (in_kernels_place) mask = MaskFor(previous, signo, interrupted);
  FallThroughRecords& records = t_records;
  const int slot = records.count;
  if (slot < kMaxRecords) {
    FallThroughRecord& record = records.record[slot];
    record.signo = signo;
    record.fault = fault;
    record.index = index;
    record.suspects = suspects;
    record.frame = frame;
    record.info = info;
    record.context = context;
    record.has_mask = in_kernels_place;
    if (in_kernels_place) record.mask = mask;
    records.count = slot + 1;
  }
  if (!fault && delivered && (previous.sa_flags & SA_RESETHAND)) {
    g_dispositions.ResetHandOnDelivery(signo, index, previous);
  }
  if (fault) {
    CallForFault(previous, signo, info, context, mask);
  } else if (delivered) {
    CallWithItsMask(previous, signo, info, context, mask);
  } else if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(signo, info, context);
  } else {
    previous.sa_handler(signo);
  }
  t_records.count = slot;
}

// Whether `info` and `context` can be read (CopyIfMapped says so: not
// where the system cannot say) and `info` is for signo; `copy` gets the
// siginfo. Async-signal-safe; errno may change.
bool KernelArgsReadable(int signo, const siginfo_t* info, const void* context,
                        siginfo_t* copy) {
  if (info == nullptr || context == nullptr) return false;
  sigset_t mask;
  return platform::CopyIfMapped(copy, info, sizeof(*copy)) ==
             platform::CopyResult::kCopied &&
         copy->si_signo == signo &&
         platform::CopyIfMapped(
             &mask, &static_cast<const ucontext_t*>(context)->uc_sigmask,
             sizeof(mask)) == platform::CopyResult::kCopied;
}

// Whether the handler's second and third arguments are a siginfo and a
// ucontext: the kernel passes them only to a disposition with SA_SIGINFO,
// and a host that saved portsig's handler with signal() (or read its
// sa_handler) and put it back has installed it as a plain handler. The
// kernel then passes the signal number alone, and the other two parameters
// hold no pointer at all: on i386 the plain signal frame's saved %gs and
// %fs (the TLS selector and 0), on arm64 whatever x1 and x2 held, under TSan
// whatever its dispatcher's registers held; on x86-64 they point at a siginfo
// the kernel left unwritten. A plain host handler calling portsig's as a plain
// function passes the same nothing. The disposition in place says which,
// and only the kernel knows it: one sigaction read per signal, the price
// of never dereferencing a value that is not a pointer. Handler skips it
// when its return address is portsig's own restorer, which only portsig's
// own installation puts in place (platform/own_restorer.h).
//
// With a host's SA_SIGINFO handler in place, the kernel ran that one, and
// portsig's is called by a host handler: the top one, passing on the
// kernel's arguments, or one further down a chain of libraries, one of
// which saved what it replaced with signal() and calls it as a plain
// function, leaving in those slots whatever its registers held. Only a
// pair that can be read (CopyIfMapped) and a siginfo for this signal are
// taken for the kernel's; where the system cannot say, they are, as
// before.
//
// The disposition read is the one in place now, not at delivery. If a
// Notify on another thread puts portsig's SA_SIGINFO form over its plain
// form between the kernel's delivery and this read, the plain call's
// arguments are taken for real ones; a restore in that window (Stop) only
// costs the sender's details. Async-signal-safe; errno may change.
//
// `reserved_blocked` is set to whether the disposition in place blocks the
// C library's own signals (portsig's own installation does; a host's
// handler, which reached this one by a chain, cannot through sigaddset).
bool KernelPassedSiginfo(int signo, const siginfo_t* info, const void* context,
                         bool* reserved_blocked) {
  PORTSIG_TEST_HOOK(handler_read_disposition, signo);
  struct sigaction now;
  MustSigaction(signo, nullptr, &now,
                "cannot read the disposition in the signal handler");
  *reserved_blocked = HoldsReservedSignals(now.sa_mask);
  if ((now.sa_flags & SA_SIGINFO) == 0 || now.sa_handler == SIG_DFL ||
      now.sa_handler == SIG_IGN) {
    return false;
  }
  if (g_dispositions.IsOurHandler(now)) return true;
  if (info != nullptr) {
    siginfo_t copy;
    switch (platform::CopyIfMapped(&copy, info, sizeof(copy))) {
      case platform::CopyResult::kNotMapped:
        return false;
      case platform::CopyResult::kCopied:
        if (copy.si_signo != signo) return false;
        break;
      case platform::CopyResult::kUnknown:
        break;
    }
  }
  if (context != nullptr) {
    // What portsig reads of a context: the interrupted code's mask.
    sigset_t copy;
    if (platform::CopyIfMapped(
            &copy, &static_cast<const ucontext_t*>(context)->uc_sigmask,
            sizeof(copy)) == platform::CopyResult::kNotMapped) {
      return false;
    }
  }
  return true;
}

// Blocks the C library's own signals for the rest of the handler when the
// kernel did not (AddReservedSignals, kernel_disposition.h, says why): a
// host's handler over portsig's calls it, or a host put portsig's back with
// its own mask. rt_sigprocmask(2) itself, as glibc's pthread_sigmask leaves
// those signals out; two system calls, on that path only. Release() is
// called at each return, not from a destructor: a cancellation pending
// acts as the signals are unblocked, and unwinding out of a destructor
// (noexcept) would end the process.
class ReservedSignalsBlock {
 public:
  explicit ReservedSignalsBlock(bool needed) {
#if defined(__linux__)
    // An empty set holds them all only where none is reserved.
    if (!needed || HoldsReservedSignals(sigset_t{})) return;
    sigset_t reserved;
    sigemptyset(&reserved);
    AddReservedSignals(&reserved);
    blocked_ = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &reserved, &old_,
                       kKernelSigsetBytes) == 0;
#else
    (void)needed;
#endif
  }
  ReservedSignalsBlock(const ReservedSignalsBlock&) = delete;
  ReservedSignalsBlock& operator=(const ReservedSignalsBlock&) = delete;

  // errno is the caller's to restore after this.
  void Release() {
#if defined(__linux__)
    if (!blocked_) return;
    blocked_ = false;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_, nullptr,
            kKernelSigsetBytes);
#endif
  }

 private:
#if defined(__linux__)
  // The kernel's sigset: NSIG - 1 bits.
  static constexpr size_t kKernelSigsetBytes = (NSIG - 1) / 8;
  sigset_t old_;
#endif
  bool blocked_ = false;
};

// The parameters are const, and never written: called as a plain handler
// on i386, their slots are the signal frame's saved %gs and %fs, which
// sigreturn loads back (a zero written there leaves the thread without its
// TLS segment).
void Handler(int signo, siginfo_t* const passed_info,
             void* const passed_context) {
  const int saved_errno = errno;
  PORTSIG_TEST_HOOK(handler_entered, signo);
  const void* frame = __builtin_frame_address(0);
  // Without a siginfo from the kernel nothing is read from them, and a
  // previous SA_SIGINFO handler is passed none, as a plain caller passes
  // none. With no arguments at all the disposition is not read: taken for
  // one that does not block the C library's own signals.
  bool reserved_blocked = false;
  bool passed;
  if (platform::IsOwnRestorer(__builtin_return_address(0))) {
    // The kernel entered this handler under the disposition portsig set
    // (platform/own_restorer.h), as it stood at delivery: SA_SIGINFO, and
    // a mask that holds the C library's signals. Nothing to read.
    passed = true;
    reserved_blocked = true;
  } else {
    passed = (passed_info != nullptr || passed_context != nullptr) &&
             KernelPassedSiginfo(signo, passed_info, passed_context,
                                 &reserved_blocked);
  }
  ReservedSignalsBlock block(!reserved_blocked);
  siginfo_t* const info = passed ? passed_info : nullptr;
  void* const context = passed ? passed_context : nullptr;
  if (const FallThroughRecord* outer = LiveRecord(signo, frame)) {
    // This thread is inside portsig's own call of a previous handler for
    // signo: a host handler chaining back into portsig's, or a signal
    // raised inside it. Either way it belongs to that fall-through, and is
    // relayed only if the kernel delivered it and a channel wants it (see
    // below). A call that passes portsig's arguments through is a chain
    // call: go on below what was called.
    const bool chained = (context != nullptr && context == outer->context) ||
                         (info != nullptr && info == outer->info) ||
                         (info == nullptr && context == nullptr) ||
                         outer->suspects >= kMaxSuspects;
    const int below = outer->index == kKernelNow ? -1 : outer->index - 1;
    const bool fault = outer->fault;
    const int suspects = outer->suspects + 1;
    // What this entry interrupted is the handler portsig called, running
    // with the mask portsig gave it; this entry's own arguments may be
    // garbage (see FallThrough), so its context is not read.
    const sigset_t* interrupted = outer->has_mask ? &outer->mask : nullptr;
    // A signal the kernel delivered (arguments that can be read, and not
    // portsig's passed through) that a channel wants now is relayed, as the
    // kernel would have delivered it to portsig's handler: raised inside
    // the host handler while another thread subscribed, or, above all, a
    // signal after that handler jumped out of portsig's call (siglongjmp),
    // which leaves this record behind, taken deeper in the stack than the
    // call was. Not for faults: a crash handler's own raise is never
    // relayed. Unwanted, it goes on as below, so a host chain passing
    // copies of its arguments still ends.
    siginfo_t copy;
    if (!chained && !fault && KernelArgsReadable(signo, info, context, &copy)) {
      platform::SigQueue* queue = g_queue.load(std::memory_order_acquire);
      if (queue != nullptr &&
          queue->Send(signo, platform::RecordFromSiginfo(signo, &copy)) !=
              platform::SendResult::kNotWanted) {
        block.Release();
        errno = saved_errno;
        return;
      }
    }
    if (chained) {
      FallThrough(signo, info, context, fault, /*delivered=*/false, below, 0,
                  frame, interrupted);
    } else {
      DispositionChains::View view = g_dispositions.Read(signo, -1);
      FallThrough(signo, info, context, fault, /*delivered=*/true,
                  FreshIndex(view.installed, view.top), suspects, frame,
                  interrupted);
    }
    block.Release();
    errno = saved_errno;
    return;
  }
  platform::SigQueue* queue = g_queue.load(std::memory_order_acquire);
  // info is the kernel's here, or a SA_SIGINFO host handler's passing on
  // what it had: one for another signal is not this occurrence's.
  const siginfo_t* known =
      info != nullptr && info->si_signo == signo ? info : nullptr;
  // A fault raised by the kernel (si_code > 0) is never relayed: returning
  // would run the faulting instruction again. It gets what the disposition
  // portsig replaced would have done.
  const bool fault = platform::IsSynchronousSignal(signo) && known != nullptr &&
                     known->si_code > 0;
  platform::SendResult result = platform::SendResult::kNotWanted;
  if (queue != nullptr && !fault) {
    result = queue->Send(signo, platform::RecordFromSiginfo(signo, known));
  }
  if (result == platform::SendResult::kNotWanted &&
      (fault || !(queue != nullptr && queue->Ignored(signo)))) {
    DispositionChains::View view = g_dispositions.Read(signo, -1);
    // context is the kernel's here (passed, above): its saved mask is the
    // interrupted code's.
    FallThrough(signo, info, context, fault, /*delivered=*/true,
                FreshIndex(view.installed, view.top), 0, frame,
                context != nullptr
                    ? &static_cast<const ucontext_t*>(context)->uc_sigmask
                    : nullptr);
  }
  block.Release();
  errno = saved_errno;
}

}  // namespace

void SetHandlerQueue(platform::SigQueue* queue) {
  g_queue.store(queue, std::memory_order_release);
}

DispositionChains& Dispositions() { return g_dispositions; }

}  // namespace runtime
}  // namespace portsig

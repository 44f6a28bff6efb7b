// Host handlers installed between subscriptions (issue 13, class 2).
//
// Whatever the host installed last is what the next subscription stands in
// for: what an unwanted signal gets while portsig's handler is in place, and
// what Stop and Reset put back. A host handler that chains back into
// portsig's handler does not make it recurse, and a host that puts back
// portsig's handler (which it had saved) as it leaves is recognised, so
// Reset puts back what was there before that host.
//
// Every case runs in a forked child (RunInChild); each host handler counts
// its runs, and dispositions are compared exactly (DescribeDifference).
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/own_restorer.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CurrentAction;
using testing::DescribeDifference;
using testing::RunInChild;
using testing::SetPlainHandler;

std::atomic<int> g_h0{0};   // a host handler installed before portsig
std::atomic<int> g_h1{0};   // one installed later
std::atomic<int> g_lib{0};  // a library's handler that chains to its previous
void H0(int) { g_h0.fetch_add(1); }
void H1(int) { g_h1.fetch_add(1); }

struct sigaction g_lib_prev;  // what the library replaced
// A careful SA_SIGINFO library handler: chains to what it replaced, passing
// its arguments through.
void LibraryInfo(int signo, siginfo_t* info, void* context) {
  g_lib.fetch_add(1);
  const struct sigaction& prev = g_lib_prev;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(signo, info, context);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(signo);
  }
}
// A plain library handler: has no siginfo to pass, so calls a SA_SIGINFO
// previous with none.
void LibraryPlain(int signo) {
  g_lib.fetch_add(1);
  const struct sigaction& prev = g_lib_prev;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(signo, nullptr, nullptr);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(signo);
  }
}
// A library that kept only the function pointer signal() returned and calls
// it as a plain handler, whatever form it had.
void (*g_lib_prev_fn)(int) = nullptr;
void LibraryFromSignal(int signo) {
  g_lib.fetch_add(1);
  if (g_lib_prev_fn != SIG_DFL && g_lib_prev_fn != SIG_IGN) {
    g_lib_prev_fn(signo);
  }
}

enum class LibraryForm { kInfo, kPlain, kFromSignal };

// Installs the library's handler over whatever is there, remembering it.
void InstallLibrary(int signo, LibraryForm form) {
  if (form == LibraryForm::kFromSignal) {
    g_lib_prev_fn = signal(signo, &LibraryFromSignal);
    ASSERT_NE(g_lib_prev_fn, SIG_ERR);
    return;
  }
  struct sigaction lib = {};
  if (form == LibraryForm::kInfo) {
    lib.sa_sigaction = &LibraryInfo;
    lib.sa_flags = SA_SIGINFO;
  } else {
    lib.sa_handler = &LibraryPlain;
  }
  sigemptyset(&lib.sa_mask);
  ASSERT_EQ(sigaction(signo, &lib, &g_lib_prev), 0);
}
// The library leaves, putting back what it replaced.
void UninstallLibrary(int signo, LibraryForm form) {
  if (form == LibraryForm::kFromSignal) {
    ASSERT_NE(signal(signo, g_lib_prev_fn), SIG_ERR);
    return;
  }
  ASSERT_EQ(sigaction(signo, &g_lib_prev, nullptr), 0);
}

bool IsPortsigHandler(int signo) {
  return (CurrentAction(signo).sa_flags & SA_SIGINFO) &&
         CurrentAction(signo).sa_sigaction != &LibraryInfo;
}

struct sigaction Plain(void (*handler)(int)) {
  struct sigaction action = {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  return action;
}

// The state every case starts from: SIG_DFL, or a host handler H0.
enum class Start { kDefault, kHostHandler };
struct sigaction Begin(int signo, Start start) {
  if (start == Start::kHostHandler) {
    EXPECT_TRUE(SetPlainHandler(signo, &H0));
  }
  return CurrentAction(signo);
}

// Turns a signal that never comes into a failure rather than a hang.
constexpr absl::Duration kWatchdog = absl::Seconds(20);

// Raises an unwanted signo while it is portsig's to restore: from inside
// Stop, after the signal became unwanted and before the restore.
std::atomic<int> g_raise_in_restore{0};
void RaiseInRestore(int signo) {
  if (signo != g_raise_in_restore.load()) return;
  g_raise_in_restore.store(0);
  raise(signo);
}

TEST(HostHandlerTest, AHandlerInstalledBetweenSubscriptionsIsWhatStopPutsBack) {
  for (Start start : {Start::kDefault, Start::kHostHandler}) {
    auto status = RunInChild([start] {
      Begin(SIGUSR1, start);
      SignalChannel a(1), b(1);
      ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
      ASSERT_TRUE(SetPlainHandler(SIGUSR1, &H1));
      const struct sigaction h1 = CurrentAction(SIGUSR1);
      Stop(a);
      EXPECT_EQ(DescribeDifference(h1, CurrentAction(SIGUSR1)), "");
      ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
      EXPECT_TRUE(IsPortsigHandler(SIGUSR1)) << "Notify(b) installed nothing";
      raise(SIGUSR1);
      EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGUSR1));
      // Unwanted while portsig's handler is in place: what the host
      // installed last runs, not what was there before the first Notify.
      g_raise_in_restore = SIGUSR1;
      test_hooks::restore_saved_begin.store(&RaiseInRestore);
      Stop(b);
      test_hooks::restore_saved_begin.store(nullptr);
      EXPECT_EQ(g_raise_in_restore.load(), 0) << "nothing was raised";
      EXPECT_EQ(g_h1.load(), 1);
      EXPECT_EQ(DescribeDifference(h1, CurrentAction(SIGUSR1)), "");
      raise(SIGUSR1);
      EXPECT_EQ(g_h1.load(), 2);
      EXPECT_EQ(g_h0.load(), 0);
      ASSERT_TRUE(Reset({SIGUSR1}).ok());
      EXPECT_EQ(DescribeDifference(h1, CurrentAction(SIGUSR1)), "");
    });
    EXPECT_TRUE(status.exited_ok()) << status.ToString();
  }
}

// The plain case (it held before too): a handler the host installs after
// Stop restored, over the disposition portsig put back.
TEST(HostHandlerTest, AHandlerInstalledAfterARestoreIsWhatStopPutsBack) {
  for (Start start : {Start::kDefault, Start::kHostHandler}) {
    auto status = RunInChild([start] {
      Begin(SIGUSR1, start);
      SignalChannel a(1), b(1);
      ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
      Stop(a);
      ASSERT_TRUE(Reset({SIGUSR1}).ok());  // No lingering handler.
      ASSERT_TRUE(SetPlainHandler(SIGUSR1, &H1));
      ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
      Stop(b);
      EXPECT_EQ(DescribeDifference(Plain(&H1), CurrentAction(SIGUSR1)), "");
      raise(SIGUSR1);
      EXPECT_EQ(g_h1.load(), 1);
      EXPECT_EQ(g_h0.load(), 0);
    });
    EXPECT_TRUE(status.exited_ok()) << status.ToString();
  }
}

// SIGTERM's SIG_DFL lets the restore wait (deferred_restore.h): the rules
// hold for the lingering handler too.
TEST(HostHandlerTest, TheDeferredRestoreFollowsTheSameRules) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    SignalChannel a(1), b(1);
    // A host handler installed between subscriptions, before Stop.
    ASSERT_TRUE(Notify(a, {SIGTERM}).ok());
    ASSERT_TRUE(SetPlainHandler(SIGTERM, &H1));
    Stop(a);
    ASSERT_TRUE(Notify(b, {SIGTERM}).ok());
    EXPECT_TRUE(IsPortsigHandler(SIGTERM)) << "Notify(b) installed nothing";
    raise(SIGTERM);
    EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGTERM));
    Stop(b);
    // What b stood in for is H1, whose restore does not wait.
    EXPECT_EQ(DescribeDifference(Plain(&H1), CurrentAction(SIGTERM)), "");
    raise(SIGTERM);
    EXPECT_EQ(g_h1.load(), 1);

    // A host handler installed over the lingering handler, after Stop.
    ASSERT_TRUE(Notify(a, {SIGUSR2}).ok());
    Stop(a);
    ASSERT_TRUE(IsPortsigHandler(SIGUSR2)) << "the restore did not wait";
    ASSERT_TRUE(SetPlainHandler(SIGUSR2, &H0));
    ASSERT_TRUE(Notify(b, {SIGUSR2}).ok());
    EXPECT_TRUE(IsPortsigHandler(SIGUSR2)) << "Notify(b) installed nothing";
    raise(SIGUSR2);
    EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGUSR2));
    EXPECT_EQ(g_h0.load(), 0);
    Stop(b);
    EXPECT_EQ(DescribeDifference(Plain(&H0), CurrentAction(SIGUSR2)), "");
    raise(SIGUSR2);
    EXPECT_EQ(g_h0.load(), 1);
    test_hooks::hold_deferred_restores.store(false);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A library installs over portsig's handler, saving it, and chains to it.
// After Stop the library's handler stays, and a signal through it reaches
// what portsig stood in for, once. A new subscription stands in for the
// library's handler; an unwanted signal then runs it, it chains back into
// portsig's handler, and portsig goes on to H0 instead of calling it again.
void ChainingLibraryCase(LibraryForm form) {
  Begin(SIGUSR1, Start::kHostHandler);
  SignalChannel a(1), b(1);
  ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
  InstallLibrary(SIGUSR1, form);
  const struct sigaction lib = CurrentAction(SIGUSR1);
  Stop(a);
  EXPECT_EQ(DescribeDifference(lib, CurrentAction(SIGUSR1)), "");
  int h0_runs = 0;
  // The library's handler, straight from the kernel, calls portsig's. One
  // that calls it as a plain function passes whatever its registers or
  // stack hold for siginfo; portsig reads nothing from that (the
  // disposition in place has no SA_SIGINFO).
  raise(SIGUSR1);
  EXPECT_EQ(g_lib.load(), 1);
  EXPECT_EQ(g_h0.load(), ++h0_runs);

  ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
  EXPECT_TRUE(IsPortsigHandler(SIGUSR1));
  g_lib = 0;
  raise(SIGUSR1);
  EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGUSR1));
  EXPECT_EQ(g_lib.load(), 0) << "a wanted signal fell through";

  g_raise_in_restore = SIGUSR1;
  test_hooks::restore_saved_begin.store(&RaiseInRestore);
  Stop(b);
  test_hooks::restore_saved_begin.store(nullptr);
  EXPECT_EQ(g_raise_in_restore.load(), 0) << "nothing was raised";
  EXPECT_EQ(g_h0.load(), ++h0_runs);
  if (form == LibraryForm::kFromSignal) {
    // Called with no arguments to recognise, portsig takes a few nested
    // calls as new signals before it takes them for a chain.
    EXPECT_GE(g_lib.load(), 1);
    EXPECT_LE(g_lib.load(), 4);
  } else {
    EXPECT_EQ(g_lib.load(), 1);
  }
  EXPECT_EQ(DescribeDifference(lib, CurrentAction(SIGUSR1)), "");
}

TEST(HostHandlerTest, AChainingHostHandlerDoesNotRecurseSiginfoForm) {
  auto status = RunInChild([] { ChainingLibraryCase(LibraryForm::kInfo); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(HostHandlerTest, AChainingHostHandlerDoesNotRecursePlainForm) {
  auto status = RunInChild([] { ChainingLibraryCase(LibraryForm::kPlain); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(HostHandlerTest, AChainingHostHandlerDoesNotRecurseSignalForm) {
  auto status =
      RunInChild([] { ChainingLibraryCase(LibraryForm::kFromSignal); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Notify; a library installs over portsig's handler; Stop (the library's
// stays); the library leaves, putting back what it saved: portsig's
// handler. Reset, or another subscription's Stop, puts back the original.
TEST(HostHandlerTest, PortsigsHandlerPutBackByALibraryIsRecognised) {
  for (LibraryForm form :
       {LibraryForm::kInfo, LibraryForm::kPlain, LibraryForm::kFromSignal}) {
    for (Start start : {Start::kDefault, Start::kHostHandler}) {
      for (bool by_reset : {true, false}) {
        auto status = RunInChild([form, start, by_reset] {
          const struct sigaction original = Begin(SIGUSR1, start);
          SignalChannel a(1), b(1);
          ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
          InstallLibrary(SIGUSR1, form);
          Stop(a);
          UninstallLibrary(SIGUSR1, form);
          if (start == Start::kHostHandler) {
            // Unwanted meanwhile: the original, not the library.
            raise(SIGUSR1);
            EXPECT_EQ(g_h0.load(), 1);
            EXPECT_EQ(g_lib.load(), 0);
          }
          if (by_reset) {
            ASSERT_TRUE(Reset({SIGUSR1}).ok());
          } else {
            ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
            Stop(b);
            ASSERT_TRUE(Reset({SIGUSR1}).ok());
          }
          EXPECT_EQ(DescribeDifference(original, CurrentAction(SIGUSR1)), "");
        });
        EXPECT_TRUE(status.exited_ok())
            << "form " << static_cast<int>(form) << " start "
            << static_cast<int>(start) << " by_reset " << by_reset << ": "
            << status.ToString();
      }
    }
  }
}

// A host handler that records which of three signals were blocked while it
// ran.
std::atomic<int> g_masked_runs{0};
std::atomic<bool> g_saw_usr1_blocked{false};
std::atomic<bool> g_saw_usr2_blocked{false};
std::atomic<bool> g_saw_term_blocked{false};
void RecordMask(int) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  g_saw_usr1_blocked.store(sigismember(&now, SIGUSR1) == 1);
  g_saw_usr2_blocked.store(sigismember(&now, SIGUSR2) == 1);
  g_saw_term_blocked.store(sigismember(&now, SIGTERM) == 1);
  g_masked_runs.fetch_add(1);
}

// When portsig's handler is what the kernel ran and it calls the host
// handler it stands in for (here: the signal is unwanted, portsig's handler
// having been put back by a library that saved it), the host handler runs
// with the mask the kernel would have given it: the interrupted code's,
// plus its sa_mask, plus the signal unless SA_NODEFER. portsig's own
// handler blocks every signal; host handlers used to run that way.
TEST(HostHandlerTest, AHostHandlerCalledInTheKernelsPlaceGetsItsOwnMask) {
  for (bool nodefer : {false, true}) {
    SCOPED_TRACE(nodefer ? "SA_NODEFER" : "no SA_NODEFER");
    auto status = RunInChild([nodefer] {
      struct sigaction host = {};
      host.sa_handler = &RecordMask;
      host.sa_flags = nodefer ? SA_NODEFER : 0;
      sigemptyset(&host.sa_mask);
      sigaddset(&host.sa_mask, SIGUSR2);
      ASSERT_EQ(sigaction(SIGUSR1, &host, nullptr), 0);
      SignalChannel a(1);
      ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
      InstallLibrary(SIGUSR1, LibraryForm::kInfo);
      Stop(a);
      UninstallLibrary(SIGUSR1, LibraryForm::kInfo);
      raise(SIGUSR1);
      ASSERT_EQ(g_masked_runs.load(), 1);
#ifdef PORTSIG_TSAN
      // Under TSan nothing is opened for the host handler: it runs with
      // portsig's own mask, every signal blocked (signal_handler.cc,
      // FallThrough, says why).
      EXPECT_TRUE(g_saw_usr1_blocked.load());
      EXPECT_TRUE(g_saw_usr2_blocked.load());
      EXPECT_TRUE(g_saw_term_blocked.load());
#else
      EXPECT_EQ(g_saw_usr1_blocked.load(), !nodefer);
      EXPECT_TRUE(g_saw_usr2_blocked.load());
      EXPECT_FALSE(g_saw_term_blocked.load());
#endif
      // And the interrupted code's mask is back afterwards.
      sigset_t after;
      pthread_sigmask(SIG_BLOCK, nullptr, &after);
      EXPECT_EQ(sigismember(&after, SIGUSR2), 0);
    });
    EXPECT_TRUE(status.exited_ok()) << status.ToString();
  }
}

// A host handler during which a second signal arrives, sent with a raw
// tgkill: TSan runs the handlers of signals sent that way late, at the
// thread's next intercepted call (its raise and kill interceptors would run
// them at once), which is how the kernel's deliveries to a busy thread go
// under TSan.
std::atomic<int> g_sender_runs{0};
std::atomic<int> g_second_runs{0};
void SendSecond(int) {
  g_sender_runs.fetch_add(1);
  syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
}
void CountSecond(int) { g_second_runs.fetch_add(1); }

// The thread's mask is the same after portsig ran a host handler with the
// host's own mask, even when another signal came while that mask was in
// place. Under TSan it was not: TSan ran the first handler late, from its
// own code, and the second signal arriving while portsig had opened the
// mask for the host handler left the thread blocking every signal for good
// (storm_test under --config=tsan lost its final signals). Without TSan the
// kernel runs both handlers at once; the case is kept for every build.
TEST(HostHandlerTest, ASignalDuringAHostHandlersOwnMaskLeavesTheThreadsMask) {
  auto status = RunInChild([] {
    struct sigaction host = {};
    host.sa_handler = &SendSecond;
    sigemptyset(&host.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &host, nullptr), 0);
    ASSERT_TRUE(SetPlainHandler(SIGUSR2, &CountSecond));
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    InstallLibrary(SIGUSR1, LibraryForm::kInfo);
    Stop(a);
    UninstallLibrary(SIGUSR1, LibraryForm::kInfo);
    sigset_t before;
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &before), 0);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    // Under TSan, usleep is where both handlers run.
    for (int i = 0; i < 5000 && g_second_runs.load() == 0; ++i) usleep(1000);
    ASSERT_EQ(g_sender_runs.load(), 1);
    ASSERT_EQ(g_second_runs.load(), 1);
    sigset_t after;
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &after), 0);
    for (int s = 1; s < SIGRTMIN; ++s) {
      EXPECT_EQ(sigismember(&after, s), sigismember(&before, s))
          << "signal " << s << " changed in the thread's mask";
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A SA_SIGINFO host handler that keeps what it was passed.
std::atomic<int> g_hinfo{0};
std::atomic<const void*> g_hinfo_info{nullptr};
std::atomic<const void*> g_hinfo_context{nullptr};
void HInfo(int, siginfo_t* info, void* context) {
  g_hinfo.fetch_add(1);
  g_hinfo_info.store(info);
  g_hinfo_context.store(context);
}

// A library saves portsig's handler with signal() and puts it back the same
// way while a channel is subscribed: portsig's handler is in place as a
// plain handler, and the kernel passes it the signal number alone (on i386
// the other two argument slots are the plain signal frame's saved %gs and
// %fs, which portsig once dereferenced: SIGSEGV). A wanted signal reaches
// the channel with no sender or value; an unwanted one reaches the
// SA_SIGINFO host handler portsig stands in for with no siginfo or context
// rather than with what the kernel never wrote.
TEST(HostHandlerTest, PortsigsHandlerPutBackAsAPlainHandlerGetsNoSiginfo) {
  auto status = RunInChild([] {
    struct sigaction hinfo = {};
    hinfo.sa_sigaction = &HInfo;
    hinfo.sa_flags = SA_SIGINFO;
    sigemptyset(&hinfo.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &hinfo, nullptr), 0);
    const struct sigaction original = CurrentAction(SIGUSR1);
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    InstallLibrary(SIGUSR1, LibraryForm::kFromSignal);
    UninstallLibrary(SIGUSR1, LibraryForm::kFromSignal);
    ASSERT_EQ(CurrentAction(SIGUSR1).sa_flags & SA_SIGINFO, 0)
        << "signal() put back the SA_SIGINFO form";

    sigval value;
    value.sival_int = 7;
    ASSERT_EQ(sigqueue(getpid(), SIGUSR1, value), 0);
    const std::optional<Delivery> delivery = a.ReceiveDeliveryFor(kWatchdog);
    ASSERT_TRUE(delivery.has_value()) << "the signal never came";
    EXPECT_EQ(delivery->signal, Signal(SIGUSR1));
    EXPECT_FALSE(delivery->value.has_value());
    EXPECT_EQ(delivery->sender_pid, 0);

    g_hinfo_info.store(&g_hinfo);
    g_hinfo_context.store(&g_hinfo);
    g_raise_in_restore = SIGUSR1;
    test_hooks::restore_saved_begin.store(&RaiseInRestore);
    Stop(a);
    test_hooks::restore_saved_begin.store(nullptr);
    EXPECT_EQ(g_raise_in_restore.load(), 0) << "nothing was raised";
    EXPECT_EQ(g_hinfo.load(), 1);
    EXPECT_EQ(g_hinfo_info.load(), nullptr);
    EXPECT_EQ(g_hinfo_context.load(), nullptr);
    EXPECT_EQ(DescribeDifference(original, CurrentAction(SIGUSR1)), "");
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

std::atomic<int> g_disposition_reads{0};
void CountDispositionRead(int) { g_disposition_reads.fetch_add(1); }

// Queues SIGUSR1 with `value` and expects `ch` to get it with its sender
// and value: the handler had the kernel's siginfo.
void QueueAndReceiveWithSiginfo(SignalChannel& ch, int value) {
  sigval v;
  v.sival_int = value;
  ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
  const std::optional<Delivery> delivery = ch.ReceiveDeliveryFor(kWatchdog);
  ASSERT_TRUE(delivery.has_value()) << "the signal never came";
  EXPECT_EQ(delivery->sender_pid, getpid());
  ASSERT_TRUE(delivery->value.has_value());
  EXPECT_EQ(delivery->value->sival_int, value);
}

// portsig's handler, installed by portsig, takes the kernel's siginfo
// without reading the disposition (platform/own_restorer.h): the kernel
// entered it through portsig's restorer. A host that reads that disposition
// and puts a copy back with sigaction() has the C library's restorer in
// place, so the handler reads the disposition again, and still finds the
// siginfo form. Where the build has no restorer of its own, every signal
// reads it.
TEST(HostHandlerTest,
     PortsigsOwnInstallationIsKnownWithoutAReadAndACopyIsRead) {
  auto status = RunInChild([] {
    test_hooks::handler_read_disposition.store(&CountDispositionRead);
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    QueueAndReceiveWithSiginfo(a, 5);
    QueueAndReceiveWithSiginfo(a, 6);
    const int own = platform::HasOwnRestorer() ? 0 : 1;
    EXPECT_EQ(g_disposition_reads.load(), 2 * own);

    const struct sigaction copy = CurrentAction(SIGUSR1);
    ASSERT_EQ(sigaction(SIGUSR1, &copy, nullptr), 0);
    QueueAndReceiveWithSiginfo(a, 7);
    EXPECT_EQ(g_disposition_reads.load(), 2 * own + 1);
    Stop(a);
    test_hooks::handler_read_disposition.store(nullptr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(HostHandlerTest, ASigIgnInstalledBetweenSubscriptionsIsPutBack) {
  for (Start start : {Start::kDefault, Start::kHostHandler}) {
    auto status = RunInChild([start] {
      Begin(SIGUSR1, start);
      SignalChannel a(1), b(1);
      ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
      ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
      const struct sigaction ignore = CurrentAction(SIGUSR1);
      Stop(a);
      EXPECT_TRUE(Ignored(SIGUSR1));
      ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
      EXPECT_FALSE(Ignored(SIGUSR1));
      EXPECT_TRUE(IsPortsigHandler(SIGUSR1)) << "Notify(b) installed nothing";
      Stop(b);
      EXPECT_TRUE(Ignored(SIGUSR1));
      EXPECT_EQ(DescribeDifference(ignore, CurrentAction(SIGUSR1)), "");
      raise(SIGUSR1);  // Survives.
      EXPECT_EQ(g_h0.load(), 0);
      ASSERT_TRUE(Reset({SIGUSR1}).ok());
      EXPECT_EQ(DescribeDifference(ignore, CurrentAction(SIGUSR1)), "");
    });
    EXPECT_TRUE(status.exited_ok()) << status.ToString();
  }
}

// The kernel reads the handler field alone: SIG_IGN (or SIG_DFL) installed
// with SA_SIGINFO, in the sa_sigaction member, is still ignore (or the
// default). portsig used to read it as a host handler: Ignored said false
// while the kernel discarded the signal.
TEST(HostHandlerTest, SigIgnWithSaSiginfoIsStillIgnore) {
  auto status = RunInChild([] {
    struct sigaction ignore;
    std::memset(&ignore, 0, sizeof(ignore));
    ignore.sa_sigaction =
        reinterpret_cast<void (*)(int, siginfo_t*, void*)>(SIG_IGN);
    ignore.sa_flags = SA_SIGINFO;
    sigemptyset(&ignore.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &ignore, nullptr), 0);
    EXPECT_TRUE(Ignored(SIGUSR1));
    raise(SIGUSR1);  // The kernel discards it.
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    EXPECT_FALSE(Ignored(SIGUSR1));
    Stop(a);
    EXPECT_TRUE(Ignored(SIGUSR1));
    EXPECT_EQ(DescribeDifference(ignore, CurrentAction(SIGUSR1)), "");
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(HostHandlerTest, IgnoreThenAHostHandlerThenReset) {
  auto status = RunInChild([] {
    ASSERT_TRUE(Ignore({SIGUSR1}).ok());
    ASSERT_TRUE(SetPlainHandler(SIGUSR1, &H1));
    ASSERT_TRUE(Reset({SIGUSR1}).ok());
    EXPECT_EQ(DescribeDifference(Plain(&H1), CurrentAction(SIGUSR1)), "");
    SignalChannel b(1);
    ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
    Stop(b);
    EXPECT_EQ(DescribeDifference(Plain(&H1), CurrentAction(SIGUSR1)), "");
    // Ignore over the host's handler, then Reset: the host's handler.
    ASSERT_TRUE(Ignore({SIGUSR1}).ok());
    ASSERT_TRUE(Reset({SIGUSR1}).ok());
    EXPECT_EQ(DescribeDifference(Plain(&H1), CurrentAction(SIGUSR1)), "");
    raise(SIGUSR1);
    EXPECT_EQ(g_h1.load(), 1);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(HostHandlerTest, AForkedChildKeepsTheRules) {
  auto status = RunInChild([] {
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    ASSERT_TRUE(SetPlainHandler(SIGUSR1, &H1));
    Stop(a);
    auto grandchild = RunInChild([] {
      SignalChannel b(1);
      ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
      EXPECT_TRUE(IsPortsigHandler(SIGUSR1));
      Stop(b);
      EXPECT_EQ(DescribeDifference(Plain(&H1), CurrentAction(SIGUSR1)), "");
      raise(SIGUSR1);
      EXPECT_EQ(g_h1.load(), 1);
    });
    EXPECT_TRUE(grandchild.exited_ok()) << grandchild.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig

// Real faults with SIGSEGV (and the other synchronous signals) subscribed by
// number (issue 13, class 4). A fault the kernel raises for the faulting
// thread is never relayed: it gets exactly what the disposition portsig
// stands in for would have done, its flags (SA_RESETHAND, SA_NODEFER,
// sa_mask) honoured, and the process ends by that signal where it would
// have. Only sent ones (kill, raise, sigqueue) reach channels.
//
// Each case runs in a forked child; the host's crash handler writes one
// byte to a pipe per run, so the parent counts runs after the child died.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CapturedChild;
using testing::CurrentAction;
using testing::RunInChildCapturing;

// The write end of RunCase's pipe, in the child.
int g_report_fd = -1;

// A child whose handler ran this often is looping: it exits with this.
constexpr int kLooping = 42;
std::atomic<int> g_runs{0};

// One byte per run of a host handler; the byte says what it saw.
void Report(char byte) {
  ssize_t written = write(g_report_fd, &byte, 1);
  (void)written;
  if (g_runs.fetch_add(1) + 1 > 16) _exit(kLooping);
}

// Runs `body` in a child and collects what its handlers reported. The
// child starts from SIG_DFL for every fault: the sanitizers install their
// own reporting handlers, which end the process with an exit status.
CapturedChild RunCase(const std::function<void()>& body) {
  return RunInChildCapturing([&body](int report_fd) {
    g_report_fd = report_fd;
    for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) {
      ASSERT_NE(signal(signo, SIG_DFL), SIG_ERR);
    }
    body();
  });
}

// A write to a page with no access: SEGV_ACCERR, raised by the kernel.
void Fault() {
  void* page =
      mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  *static_cast<volatile int*>(page) = 1;
}

void InstallHost(int signo, void (*handler)(int, siginfo_t*, void*), int flags,
                 const sigset_t* mask = nullptr,
                 struct sigaction* replaced = nullptr) {
  struct sigaction host = {};
  host.sa_sigaction = handler;
  host.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&host.sa_mask);
  if (mask != nullptr) host.sa_mask = *mask;
  ASSERT_EQ(sigaction(signo, &host, replaced), 0);
}

// A crash handler that reports and returns: with SA_RESETHAND the
// instruction faults again into SIG_DFL.
void ReportAndReturn(int, siginfo_t*, void*) { Report('x'); }

// A crash handler that reports and raises the signal again (with
// SA_RESETHAND | SA_NODEFER, the raise meets SIG_DFL at once).
void ReportAndRaise(int signo, siginfo_t*, void*) {
  Report('x');
  raise(signo);
}

// A crash handler that puts SIG_DFL back itself and returns.
void ReportAndResetItself(int signo, siginfo_t*, void*) {
  Report('x');
  signal(signo, SIG_DFL);
}

// Reports the mask it runs with: a letter per signal blocked among SIGUSR1
// (in its sa_mask), SIGSEGV (itself), SIGUSR2 (in neither).
void ReportMask(int, siginfo_t*, void*) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, nullptr, &now);
  char report = 'a';
  if (sigismember(&now, SIGUSR1) == 1) report += 1;
  if (sigismember(&now, SIGSEGV) == 1) report += 2;
  if (sigismember(&now, SIGUSR2) == 1) report += 4;
  Report(report);
}

// A crash handler installed over portsig's, chaining to what it replaced.
struct sigaction g_replaced;
void ReportAndChain(int signo, siginfo_t* info, void* context) {
  Report('x');
  if (g_replaced.sa_flags & SA_SIGINFO) {
    g_replaced.sa_sigaction(signo, info, context);
  } else if (g_replaced.sa_handler != SIG_DFL &&
             g_replaced.sa_handler != SIG_IGN) {
    g_replaced.sa_handler(signo);
  }
}

// The channel that asks for SIGSEGV by number; it must never receive a
// fault. Leaked: the child dies with it registered.
SignalChannel* SubscribeByNumber(int signo) {
  auto* channel = new SignalChannel(4);
  EXPECT_TRUE(Notify(*channel, {signo}).ok());
  return channel;
}

TEST(FaultTest, ResetHandHandlerRunsOnceAndTheProcessDies) {
  CapturedChild outcome = RunCase([] {
    InstallHost(SIGSEGV, &ReportAndReturn, SA_RESETHAND);
    SubscribeByNumber(SIGSEGV);
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "x");
}

TEST(FaultTest, NoDeferRaiseInsideTheHandlerIsNotRelayed) {
  CapturedChild outcome = RunCase([] {
    InstallHost(SIGSEGV, &ReportAndRaise, SA_RESETHAND | SA_NODEFER);
    SubscribeByNumber(SIGSEGV);
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "x");
}

TEST(FaultTest, AHandlerThatResetsItselfRunsOnce) {
  CapturedChild outcome = RunCase([] {
    InstallHost(SIGSEGV, &ReportAndResetItself, 0);
    SubscribeByNumber(SIGSEGV);
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "x");
}

TEST(FaultTest, NoHostHandlerTheDefaultActionEndsTheProcess) {
  CapturedChild outcome = RunCase([] {
    SubscribeByNumber(SIGSEGV);
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "");
}

// The host handler runs with the mask the kernel would have given it: the
// interrupted code's, plus sa_mask, plus the signal unless SA_NODEFER; not
// portsig's handler's mask, which blocks everything.
TEST(FaultTest, TheHandlersMaskIsHonoured) {
  for (int nodefer : {0, SA_NODEFER}) {
    CapturedChild outcome = RunCase([nodefer] {
      sigset_t usr1;
      sigemptyset(&usr1);
      sigaddset(&usr1, SIGUSR1);
      InstallHost(SIGSEGV, &ReportMask, SA_RESETHAND | nodefer, &usr1);
      SubscribeByNumber(SIGSEGV);
      Fault();
    });
    EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
    // 'a' + 1 (SIGUSR1 blocked) + 2 (SIGSEGV blocked, unless SA_NODEFER).
    EXPECT_EQ(outcome.output, nodefer ? "b" : "d") << "SA_NODEFER " << nodefer;
  }
}

// A crash handler installed over portsig's between two subscriptions, which
// chains to portsig's handler: portsig goes on to SIG_DFL rather than call
// it again (class 2), and the fault ends the process after one run.
TEST(FaultTest, AChainingCrashHandlerBetweenSubscriptionsRunsOnce) {
  CapturedChild outcome = RunCase([] {
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGSEGV}).ok());
    InstallHost(SIGSEGV, &ReportAndChain, 0, nullptr, &g_replaced);
    Stop(a);
    SubscribeByNumber(SIGSEGV);
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "x");
}

// The same crash handler installed over portsig's while it is subscribed.
TEST(FaultTest, AChainingCrashHandlerOverPortsigRunsOnce) {
  CapturedChild outcome = RunCase([] {
    SubscribeByNumber(SIGSEGV);
    InstallHost(SIGSEGV, &ReportAndChain, 0, nullptr, &g_replaced);
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "x");
}

// A SIGSEGV sent with raise() is relayed, as Go relays sent synchronous
// signals; the host's handler does not run for it. A fault afterwards
// still reaches the host handler, once.
TEST(FaultTest, ASentSigsegvIsRelayedAndAFaultIsNot) {
  CapturedChild outcome = RunCase([] {
    InstallHost(SIGSEGV, &ReportAndReturn, SA_RESETHAND);
    SignalChannel* channel = SubscribeByNumber(SIGSEGV);
    raise(SIGSEGV);
    EXPECT_EQ(channel->ReceiveFor(absl::Seconds(20)), Signal(SIGSEGV));
    Report('r');
    Fault();
    ADD_FAILURE() << "survived the fault";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "rx");
}

// A stack overflow reaches portsig's handler on the host's alternate stack
// (portsig's handler carries SA_ONSTACK), and the host's handler runs once.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// The recursion has no end on purpose: it is the stack overflow.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
int Recurse(volatile int depth) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(depth);
  return Recurse(depth + 1) + pad[0];
}
#pragma GCC diagnostic pop

TEST(FaultTest, AStackOverflowUsesTheHostsAlternateStack) {
  CapturedChild outcome = RunCase([] {
    static char alternate[64 * 1024];
    stack_t stack = {};
    stack.ss_sp = alternate;
    stack.ss_size = sizeof(alternate);
    ASSERT_EQ(sigaltstack(&stack, nullptr), 0);
    InstallHost(SIGSEGV, &ReportAndReturn, SA_RESETHAND | SA_ONSTACK);
    SubscribeByNumber(SIGSEGV);
    EXPECT_NE(CurrentAction(SIGSEGV).sa_flags & SA_ONSTACK, 0);
    Recurse(0);
    ADD_FAILURE() << "survived the overflow";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGSEGV)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "x");
}
#endif

#if defined(__x86_64__) || defined(__i386__)
// The other faults, where x86 raises them: an undefined instruction
// (SIGILL), a division by zero (SIGFPE). Each ends the process after one
// run of an SA_RESETHAND handler, or at once with none.
void IllegalInstruction() { __asm__ volatile("ud2"); }
// In assembly: GCC turns 1 / x into a comparison, and UBSan's build checks
// a C++ division by zero before it happens.
void DivideByZero() {
  __asm__ volatile(
      "xorl %%ecx, %%ecx\n\t"
      "movl $7, %%eax\n\t"
      "cltd\n\t"
      "idivl %%ecx"
      :
      :
      : "eax", "ecx", "edx", "cc");
}

TEST(FaultTest, OtherFaultsEndTheProcessAfterOneRun) {
  struct Case {
    int signo;
    void (*fault)();
  };
  for (const Case& c :
       {Case{SIGILL, &IllegalInstruction}, Case{SIGFPE, &DivideByZero}}) {
    for (bool host : {true, false}) {
      CapturedChild outcome = RunCase([c, host] {
        if (host) InstallHost(c.signo, &ReportAndReturn, SA_RESETHAND);
        SubscribeByNumber(c.signo);
        c.fault();
        ADD_FAILURE() << "survived the fault";
      });
      EXPECT_TRUE(outcome.status.killed_by(c.signo))
          << c.signo << ": " << outcome.status.ToString();
      EXPECT_EQ(outcome.output, host ? "x" : "") << c.signo;
    }
  }
}

// A breakpoint trap does not repeat when its handler returns: with SIG_DFL
// before portsig the process dies by SIGTRAP (portsig raises it again);
// with a host handler the program goes on after it ran once, as it would
// without portsig.
void Breakpoint() { __asm__ volatile("int3"); }

TEST(FaultTest, ABreakpointTrapGetsWhatThePreviousDispositionDoes) {
  CapturedChild no_host = RunCase([] {
    SubscribeByNumber(SIGTRAP);
    Breakpoint();
    ADD_FAILURE() << "survived the trap";
  });
  EXPECT_TRUE(no_host.status.killed_by(SIGTRAP)) << no_host.status.ToString();
  CapturedChild host = RunCase([] {
    InstallHost(SIGTRAP, &ReportAndReturn, SA_RESETHAND);
    SubscribeByNumber(SIGTRAP);
    Breakpoint();
    Report('y');
  });
  EXPECT_TRUE(host.status.exited_ok()) << host.status.ToString();
  EXPECT_EQ(host.output, "xy");
}
#endif

}  // namespace
}  // namespace portsig

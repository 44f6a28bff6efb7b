// Coexistence with a host program's own signal handling, under load.
//
// - A host that installed handlers before portsig and one that installs
//   them after (chaining to what it replaced, portsig's handler) both keep
//   working while portsig's channels are stormed, across Stop and Reset.
// - A host that takes signals with signalfd or sigwaitinfo (blocked in
//   every thread) gets every one of them, even while a channel asks portsig
//   for every signal.
// - portsig never touches the disposition of a signal it was not asked for.
//
// Every case runs in a forked child (RunInChild), so nothing reaches the
// test runner. Counts use real-time signals, which the kernel queues rather
// than merges, so "every one" is exact.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CurrentAction;
using testing::DescribeDifference;
using testing::RunInChild;

constexpr int kThreads = 2;
constexpr int kPerThread = 2000;

void WaitForDispatch() { testing::WaitForDispatch(SIGRTMIN + 10); }

std::atomic<int64_t> g_before_calls[NSIG];  // installed before portsig
std::atomic<int64_t> g_after_calls[NSIG];   // installed after portsig
struct sigaction g_replaced[NSIG];          // what the "after" host replaced

void Before(int signo, siginfo_t*, void*) { g_before_calls[signo]++; }

// A careful host handler: does its work, then chains to whatever it
// replaced, as hosts (and Go's runtime) do.
void AfterChaining(int signo, siginfo_t* info, void* context) {
  g_after_calls[signo]++;
  const struct sigaction& prev = g_replaced[signo];
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(signo, info, context);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(signo);
  }
}

void InstallBefore(int signo) {
  struct sigaction a = {};
  a.sa_sigaction = &Before;
  a.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&a.sa_mask);
  sigaction(signo, &a, nullptr);
}

void InstallAfterChaining(int signo) {
  struct sigaction a = {};
  a.sa_sigaction = &AfterChaining;
  a.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&a.sa_mask);
  sigaction(signo, &a, &g_replaced[signo]);
}

#if defined(PORTSIG_TSAN)
// TSan defers an asynchronous signal to the thread's next interceptor and
// keeps one pending slot per signal number, so it merges repeats that the
// kernel would have queued. raise() is delivered synchronously under TSan.
constexpr bool kKillMayMerge = true;
#else
constexpr bool kKillMayMerge = false;
#endif

// Sends kThreads * kPerThread signals from threads with kill(), so any
// thread may take them, and returns how many were sent. With `to_handler`
// (the signal goes to a handler, not to a host that blocks it) under TSan,
// raise() instead.
int64_t Storm(int signo, bool to_handler = true) {
  std::atomic<int64_t> sent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const bool use_raise = kKillMayMerge && to_handler;
        if ((use_raise ? raise(signo) : kill(getpid(), signo)) == 0) {
          sent++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return sent.load();
}

// Waits (bounded, for a hang to fail rather than stall) until `counter`
// reaches `want`; returns the final value.
int64_t AwaitCount(const std::atomic<int64_t>& counter, int64_t want) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (counter.load() < want && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return counter.load();
}

TEST(CoexistTest, HostHandlersBeforeAndAfterPortsigKeepWorking) {
  auto status = RunInChild([] {
    const int kOursToo = SIGRTMIN + 1;  // host before, then portsig, then host
    const int kNeverAsked = SIGRTMIN + 3;  // host before; portsig never asked
    const int kLateHost = SIGRTMIN + 4;    // host after; portsig never asked
    InstallBefore(kOursToo);
    InstallBefore(kNeverAsked);
    const struct sigaction never_asked = CurrentAction(kNeverAsked);

    SignalChannel ch(1 << 16);
    ASSERT_TRUE(Notify(ch, {kOursToo, SIGUSR1}).ok());
    InstallAfterChaining(kOursToo);
    InstallAfterChaining(kLateHost);
    const struct sigaction late_host = CurrentAction(kLateHost);

    // While portsig wants kOursToo, the later host sees every one and its
    // chain reaches portsig; the earlier host sees none.
    const int64_t sent = Storm(kOursToo);
    EXPECT_EQ(AwaitCount(g_after_calls[kOursToo], sent), sent);
    WaitForDispatch();
    EXPECT_EQ(g_before_calls[kOursToo].load(), 0);
    EXPECT_GE(ch.delivered(), 1u);
    EXPECT_LE(ch.delivered(), static_cast<uint64_t>(sent));
    // Signals portsig never asked for reach their hosts, every one.
    const int64_t never = Storm(kNeverAsked);
    EXPECT_EQ(AwaitCount(g_before_calls[kNeverAsked], never), never);
    const int64_t late = Storm(kLateHost);
    EXPECT_EQ(AwaitCount(g_after_calls[kLateHost], late), late);

    // Stop: the later host's handler stays in place (its choice stands),
    // and its chain into portsig falls through to the earlier host's.
    Stop(ch);
    EXPECT_EQ(CurrentAction(kOursToo).sa_sigaction, &AfterChaining);
    const uint64_t delivered = ch.delivered();
    const int64_t after_before = g_after_calls[kOursToo].load();
    const int64_t again = Storm(kOursToo);
    EXPECT_EQ(AwaitCount(g_before_calls[kOursToo], again), again)
        << "the chain through portsig's handler lost the host's signals";
    EXPECT_EQ(g_after_calls[kOursToo].load() - after_before, again);
    EXPECT_EQ(ch.delivered(), delivered);

    // Reset of everything leaves the signals portsig never asked for alone.
    ASSERT_TRUE(Reset().ok());
    EXPECT_EQ(DescribeDifference(never_asked, CurrentAction(kNeverAsked)), "");
    EXPECT_EQ(DescribeDifference(late_host, CurrentAction(kLateHost)), "");
    EXPECT_EQ(CurrentAction(kOursToo).sa_sigaction, &AfterChaining);
    raise(kOursToo);
    EXPECT_EQ(AwaitCount(g_before_calls[kOursToo], again + 1), again + 1);
    const int64_t host_got = g_after_calls[kOursToo].load() +
                             g_before_calls[kNeverAsked].load() +
                             g_after_calls[kLateHost].load();
    const int64_t host_sent = sent + never + late + again + 1;
    std::printf(
        "RELIABILITY harness=coexist_handlers backend=%s sent=%lld "
        "host_received=%lld portsig_deliveries=%llu lost=%lld\n",
        std::getenv("PORTSIG_SIGQUEUE"), static_cast<long long>(host_sent),
        static_cast<long long>(host_got),
        static_cast<unsigned long long>(ch.delivered()),
        static_cast<long long>(host_sent - host_got));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CoexistTest, SignalfdAndSigwaitinfoHostsGetEverySignal) {
  auto status = RunInChild([] {
    const int kByFd = SIGRTMIN + 4;
    const int kByWait = SIGRTMIN + 5;
    // The host blocks its signals before any thread exists, so every thread
    // (portsig's dispatcher included) inherits the block.
    sigset_t host;
    sigemptyset(&host);
    sigaddset(&host, kByFd);
    sigaddset(&host, kByWait);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &host, nullptr), 0);
    sigset_t by_fd;
    sigemptyset(&by_fd);
    sigaddset(&by_fd, kByFd);
    const int fd = signalfd(-1, &by_fd, SFD_CLOEXEC);
    ASSERT_GE(fd, 0);

    // portsig asked for everything: it installs handlers for the host's
    // signals too, but they stay blocked, so they are the host's.
    SignalChannel all(1 << 16), mine(1);
    ASSERT_TRUE(Notify(all).ok());
    ASSERT_TRUE(Notify(mine, {SIGUSR1}).ok());

    std::atomic<int64_t> waited{0};
    std::atomic<bool> stop_waiting{false};
    std::thread waiter([&] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, kByWait);
      struct timespec tick = {0, 10 * 1000 * 1000};
      while (!stop_waiting.load()) {
        siginfo_t info;
        if (sigtimedwait(&set, &info, &tick) == kByWait) waited++;
      }
    });

    const int64_t sent_fd = Storm(kByFd, /*to_handler=*/false);
    const int64_t sent_wait = Storm(kByWait, /*to_handler=*/false);
    // portsig keeps working meanwhile.
    raise(SIGUSR1);
    WaitForDispatch();
    EXPECT_EQ(mine.TryReceive(), Signal(SIGUSR1));

    int64_t read_fd = 0;
    while (read_fd < sent_fd) {
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 60 * 1000) != 1) break;
      struct signalfd_siginfo info;
      if (read(fd, &info, sizeof(info)) != sizeof(info)) break;
      if (static_cast<int>(info.ssi_signo) == kByFd) ++read_fd;
    }
    EXPECT_EQ(read_fd, sent_fd) << "signalfd host lost signals";
    EXPECT_EQ(AwaitCount(waited, sent_wait), sent_wait)
        << "sigwaitinfo host lost signals";
    stop_waiting = true;
    waiter.join();
    std::printf(
        "RELIABILITY harness=coexist_signalfd backend=%s sent=%lld "
        "host_received=%lld lost=%lld\n",
        std::getenv("PORTSIG_SIGQUEUE"),
        static_cast<long long>(sent_fd + sent_wait),
        static_cast<long long>(read_fd + waited.load()),
        static_cast<long long>(sent_fd + sent_wait - read_fd - waited.load()));
    WaitForDispatch();
    while (std::optional<Signal> got = all.TryReceive()) {
      EXPECT_NE(*got, Signal(kByFd)) << "portsig took the signalfd host's";
      EXPECT_NE(*got, Signal(kByWait)) << "portsig took the sigwait host's";
    }
    close(fd);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig

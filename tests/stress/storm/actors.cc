#include "tests/stress/storm/actors.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/stress/storm/handlers.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace storm {
namespace {

// This process's threads as /proc/self/task lists them.
std::vector<pid_t> ListThreads() {
  std::vector<pid_t> tids;
  for (const std::string& id : testing::TaskIds()) {
    tids.push_back(static_cast<pid_t>(std::atol(id.c_str())));
  }
  return tids;
}

void Expect(Figures* f, bool ok, const char* what, const absl::Status& s) {
  f->api_calls++;
  if (ok) return;
  f->api_unexpected++;
  ADD_FAILURE() << what << ": " << s;
}

std::unique_ptr<SignalChannel> NewChannel(std::mt19937_64& rng) {
  const size_t capacities[] = {0, 1, 2, 8};
  return std::make_unique<SignalChannel>(capacities[rng() % 4]);
}

void RetireChannel(Figures* f, ChurnChannel* c) {
  f->churn_delivered += c->channel->delivered();
  f->churn_dropped += c->channel->dropped();
}

// Invalid calls: refused by name, and change nothing.
void CallInvalid(const Config& config, std::mt19937_64& rng, ChurnChannel& c,
                 Figures* f) {
  const int bad_numbers[] = {0, -1, SIGKILL, SIGSTOP, NSIG, 32};
  const Signal bad =
      rng() % 4 == 0 ? Signal::Note("") : Signal(bad_numbers[rng() % 6]);
  const int good = config.kinds.Random(rng);
  absl::Status s;
  switch (rng() % 3) {
    case 0:
      s = Notify(*c.channel, {good, bad});
      break;
    case 1:
      s = Ignore({good, bad});
      break;
    default:
      s = Reset({bad, good});
      break;
  }
  Expect(f, s.code() == absl::StatusCode::kInvalidArgument, "invalid call", s);
}

}  // namespace

void KnownThreads::AddSelf() {
  MutexLock lock(&mu_);
  tids_.push_back(gettid());
}

bool KnownThreads::Contains(pid_t tid) {
  MutexLock lock(&mu_);
  return std::find(tids_.begin(), tids_.end(), tid) != tids_.end();
}

void Churn(const Config& config, int index, absl::Time end, Figures* f,
           std::vector<ChurnChannel>* channels) {
  const Kinds& kinds = config.kinds;
  const std::vector<int>& churn = kinds.churn;
  std::mt19937_64 rng(config.seed * 7919 + index);
  for (auto& c : *channels) c.channel = NewChannel(rng);
  while (absl::Now() < end) {
    ChurnChannel& c = (*channels)[rng() % channels->size()];
    const int op = static_cast<int>(rng() % 100);
    if (op < 30) {
      const int a = kinds.Random(rng), b = kinds.Random(rng);
      absl::Status s = Notify(*c.channel, {a, b});
      Expect(f, s.ok(), "Notify", s);
      if (s.ok()) c.stable_wanted |= kinds.StableAmong({a, b});
    } else if (op < 33) {
      if (config.notify_all()) {
        absl::Status s = Notify(*c.channel);
        Expect(f, s.ok(), "Notify(all)", s);
        if (s.ok()) c.stable_wanted |= kinds.AllStable();
      }
    } else if (op < 53) {
      Stop(*c.channel);
      c.stable_wanted.reset();
      f->api_calls++;
    } else if (op < 63) {
      const int a = churn[rng() % churn.size()];
      absl::Status s = Reset({a});
      Expect(f, s.ok(), "Reset", s);
    } else if (op < 71) {
      const int a = churn[rng() % churn.size()];
      const int b = churn[rng() % churn.size()];
      absl::Status s = Ignore({a, b});
      Expect(f, s.ok(), "Ignore", s);
    } else if (op < 76) {
      Ignored(kinds.Random(rng));
      f->api_calls++;
    } else if (op < 82) {
      Stop(*c.channel);  // Destroying would stop it too; count first.
      RetireChannel(f, &c);
      c.channel = NewChannel(rng);
      c.stable_wanted.reset();
      f->api_calls++;
    } else if (op < 90) {
      CallInvalid(config, rng, c, f);
    } else if (op < 95) {
      if (config.receivers) {
        while (c.channel->TryReceive()) {
        }
        f->api_calls++;
      }
    } else if (config.receivers) {
      auto context = NotifyContext({kinds.Random(rng)});
      Expect(f, context.ok(), "NotifyContext", context.status());
      if (context.ok()) context->Stop();
    }
  }
}

// kill() at the process, or tgkill() at a random thread of it (the list
// re-read now and then, so new threads are hit too).
void Flood(const Config& config, int index, absl::Time end, KnownThreads* known,
           Figures* f) {
  std::mt19937_64 rng(config.seed * 104729 + index);
  const pid_t pid = getpid();
  std::vector<pid_t> tids;
  for (int64_t n = 0; absl::Now() < end; ++n) {
    if (n % 256 == 0) tids = ListThreads();
    const int signo = config.kinds.Random(rng);
    int rc;
    if (rng() % 2 == 0 || tids.empty()) {
      rc = kill(pid, signo);
    } else {
      const pid_t tid = tids[rng() % tids.size()];
      rc = static_cast<int>(syscall(SYS_tgkill, pid, tid, signo));
      if (rc == 0 && !known->Contains(tid)) f->tgkill_dispatcher++;
    }
    if (rc == 0) {
      f->sent++;
    } else {
      f->send_errors++;
    }
    // Paced so the churners and the dispatcher get CPU time on 2 cores.
    if (n % config.burst == config.burst - 1) {
      absl::SleepFor(absl::Microseconds(50));
    }
  }
}

void FlooderChild(const Config& config, pid_t target, bool group,
                  Shared* shared) {
  std::mt19937_64 rng(config.seed * 15485863);
  // Not before every stable channel is registered: they must all see the
  // same signals.
  while (!shared->flood_go.load()) {
    if (getppid() != target) _exit(0);
    usleep(1000);
  }
  for (int64_t n = 0; !shared->flood_stop.load(); ++n) {
    if (getppid() != target) _exit(0);  // The storm process is gone.
    const int signo = config.kinds.Random(rng);
    const bool to_group = group && rng() % 4 == 0;
    if (kill(to_group ? -target : target, signo) == 0) {
      (to_group ? shared->child_group_sent : shared->child_sent)++;
    } else {
      shared->child_errors++;
    }
    if (n % config.burst == config.burst - 1) usleep(50);
  }
  _exit(0);
}

void Read(StableChannel* s, std::atomic<bool>* stop) {
  while (!stop->load()) {
    std::optional<Signal> got = s->channel->ReceiveFor(absl::Milliseconds(20));
    if (!got) continue;
    s->read++;
    if (*got != Signal(s->kind)) s->wrong++;
  }
}

// The simplest loss check, in the thick of the storm. A channel registered
// for a signal of its own, raised on this thread (so queued before raise
// returns) and dispatched, must hold it. Any signal lost inside the queue or
// the fan-out shows up here, whatever the backend coalesces. The note
// backend may refuse it when its queue is full (that is its contract, and
// counted): a miss while QueueOverflows() grew is counted as overflowed,
// not lost.
void Probe(int index, absl::Time end, Figures* f) {
  const int signo = ProbeSignal(index);
  while (absl::Now() < end) {
    SignalChannel c(1);
    absl::Status s = Notify(c, {signo});
    Expect(f, s.ok(), "probe Notify", s);
    const uint64_t overflows_before = QueueOverflows();
    const int64_t host_before = Counts().host_calls[signo].load();
    if (!RaiseToPortsig(signo)) {
      // portsig's handler never saw it. Only TSan may do that; a host
      // handler taking a signal a channel wants is a loss.
      if (Counts().host_calls[signo].load() != host_before || !kTsan) {
        f->probe_lost++;
        ADD_FAILURE() << "probe " << Signal(signo).ToString()
                      << " never reached portsig's handler";
      }
      Stop(c);
      continue;
    }
    WaitForDispatch();
    f->probes++;
    if (c.delivered() != 1 && QueueOverflows() > overflows_before) {
      f->probe_overflowed++;
    } else if (c.delivered() != 1) {
      f->probe_lost++;
      ADD_FAILURE() << "probe " << Signal(signo).ToString() << " lost";
    }
    Stop(c);
  }
}

// Each signal raised while Stop runs must reach the channel, or fall
// through to the disposition Stop put back; nothing may reach the channel
// after Stop returned. Whether the sender committed to queueing it (read
// `wanted` as set) is seen through the sender hook; a committed signal must
// arrive (on the note backend: unless the queue was full, which
// QueueOverflows() then shows). An uncommitted one took the restored
// disposition: the host handler when there is one.
void AtomicStop(const Config& config, int index, absl::Time end, Figures* f) {
  const int signo = AtomicStopSignal(config.kinds, index);
  HandlerCounts& counts = Counts();
  while (absl::Now() < end) {
    SignalChannel c(1);
    const int64_t host_before = counts.host_calls[signo].load();
    const int64_t committed_before = counts.committed[signo].load();
    const uint64_t overflows_before = QueueOverflows();
    absl::Status s = Notify(c, {signo});
    Expect(f, s.ok(), "AtomicStop Notify", s);
    std::atomic<uint64_t> delivered_at_return{0};
    std::thread stopper([&] {
      Stop(c);
      delivered_at_return.store(c.delivered());
    });
    raise(signo);
    stopper.join();
    WaitForDispatch();
    const bool received = c.delivered() > 0;
    const bool committed = counts.committed[signo].load() > committed_before;
    const bool host_ran = counts.host_calls[signo].load() > host_before;
    f->atomic_iterations++;
    if (c.delivered() != delivered_at_return.load()) f->atomic_after_stop++;
    if (received) {
      f->atomic_received++;
    } else if (!committed || host_ran) {
      f->atomic_fell_through++;
    } else if (QueueOverflows() > overflows_before) {
      f->atomic_overflowed++;
    } else {
      f->atomic_lost++;
    }
    if (config.kinds.host_handled && !committed && !host_ran) {
      f->atomic_lost++;
    }
  }
}

// Each child Notifies, receives a signal of its own, and exits; this side
// watches each for a hang.
void ForkChildren(absl::Time end, Figures* f) {
  while (absl::Now() < end) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) {
      f->fork_failed++;
      continue;
    }
    if (pid == 0) {
      SignalChannel mine(4);
      if (!Notify(mine, {ForkSignal()}).ok()) _exit(2);
      raise(ForkSignal());
      WaitForDispatch();
      std::optional<Signal> got = mine.TryReceive();
      if (!got) _exit(3);
      if (*got != Signal(ForkSignal())) _exit(4);
      Stop(mine);
      _exit(0);
    }
    f->forks++;
    int status = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    if (done == 0) {
      std::fprintf(stderr, "forked child %d hung\n", static_cast<int>(pid));
      if (std::getenv("PORTSIG_STORM_HANG_PAUSE") != nullptr) {
        absl::SleepFor(absl::Seconds(300));  // Time to attach a debugger.
      }
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      f->fork_hung++;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      f->fork_ok++;
    } else {
      f->fork_failed++;
      ADD_FAILURE() << "forked child ended with status " << status
                    << " (exit 2: Notify failed, 3: nothing received, 4: "
                       "another signal received)";
    }
  }
}

}  // namespace storm
}  // namespace portsig

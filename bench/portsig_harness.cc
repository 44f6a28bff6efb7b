// portsig under the bench/ protocol (harness.h). The backend is the one the
// library picks: PORTSIG_SIGQUEUE=posix|note, else the build default.
//
// Consumers: a thread blocked in SignalChannel::Receive (latency, storm,
// fanout_other); one epoll loop over ReadyFds (fanout_epoll, the peers'
// model). Plain fanout has no consumer at all: a channel "holds the
// signal" once its delivered() counter moves, which the sending thread polls:
// whole passes until some channel holds it (so first_* has the resolution of
// one pass, a few ns per channel), then channel by channel until all do.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "bench/harness.h"
#include "os_signal/signal.h"

namespace portsig_bench {
namespace {

using portsig::SignalChannel;
using Channels = std::vector<std::unique_ptr<SignalChannel>>;

void MustNotify(SignalChannel& ch, int signo) {
  absl::Status status = portsig::Notify(ch, {signo});
  if (!status.ok()) {
    fprintf(stderr, "Notify: %s\n", status.ToString().c_str());
    exit(1);
  }
}

// A thread blocked in Receive on its own channel, bumping `sink`.
class Consumer {
 public:
  Consumer(int signo, Sink* sink) : signo_(signo) {
    MustNotify(ch_, signo);
    thread_ = std::thread([this, sink] {
      for (;;) {
        ch_.Receive();
        if (stop_.load(std::memory_order_acquire)) return;
        sink->Bump();
      }
    });
  }
  ~Consumer() {
    stop_.store(true, std::memory_order_release);
    SendToSelf(signo_);
    thread_.join();
    portsig::Stop(ch_);
  }

 private:
  const int signo_;
  SignalChannel ch_{1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Channels Subscribe(int n, int signo) {
  Channels channels;
  for (int i = 0; i < n; ++i) {
    channels.push_back(std::make_unique<SignalChannel>(1));
    MustNotify(*channels.back(), signo);
  }
  return channels;
}

void Unsubscribe(Channels& channels) {
  for (auto& ch : channels) portsig::Stop(*ch);
  channels.clear();
}

void Fanout(const Options& options, const Reporter& reporter, int n) {
  Channels channels = Subscribe(n, SIGUSR1);
  // The delivered() count that says channel i holds this rep's signal.
  std::vector<uint64_t> target(n);
  bool seen_first = false;
  int next = 0;  // After the first: channels before `next` hold it.
  RunFanout(
      options, reporter, n,
      [&] {
        for (int i = 0; i < n; ++i) {
          channels[i]->TryReceive();  // Empty it for this rep (untimed).
          target[i] = channels[i]->delivered() + 1;
        }
        seen_first = false;
        next = 0;
      },
      [&]() -> int64_t {
        if (!seen_first) {
          // Passes over all channels until one holds it.
          for (int i = 0; i < n; ++i) {
            if (channels[i]->delivered() >= target[i]) {
              seen_first = true;
              return 1;
            }
          }
          return 0;
        }
        // Then one channel at a time, so the poller reads one cache line
        // the dispatcher is about to write, not all of them.
        while (next < n && channels[next]->delivered() >= target[next]) {
          ++next;
        }
        return next == 0 ? 1 : next;  // At least the first.
      });
  Unsubscribe(channels);
}

// Fan-out to n channels whose consumers share one epoll loop, as libuv's
// and Asio's do: each channel's ReadyFd is in one epoll set, and a loop
// thread takes what is ready with TryReceive and bumps the sink. Needs a
// descriptor per channel, so the soft RLIMIT_NOFILE is raised to the hard
// one; a size that does not fit is skipped (on stderr).
void FanoutEpoll(const Options& options, const Reporter& reporter, int n) {
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (static_cast<rlim_t>(n) + 64 > limit.rlim_cur) {
    fprintf(stderr, "fanout_epoll channels=%d: skipped, fd limit %llu\n", n,
            static_cast<unsigned long long>(limit.rlim_cur));
    return;
  }
  Channels channels = Subscribe(n, SIGUSR1);
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  const int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // The stop descriptor.
  epoll_ctl(epoll, EPOLL_CTL_ADD, stop, &event);
  for (auto& ch : channels) {
    absl::StatusOr<int> fd = ch->ReadyFd();
    if (!fd.ok()) {
      fprintf(stderr, "ReadyFd: %s\n", fd.status().ToString().c_str());
      exit(1);
    }
    event.data.ptr = ch.get();
    epoll_ctl(epoll, EPOLL_CTL_ADD, *fd, &event);
  }
  Sink sink;
  std::thread loop([&] {
    epoll_event ready[256];
    for (;;) {
      int got = epoll_wait(epoll, ready, 256, -1);
      for (int i = 0; i < got; ++i) {
        auto* ch = static_cast<SignalChannel*>(ready[i].data.ptr);
        if (ch == nullptr) return;
        while (ch->TryReceive()) sink.Bump();
      }
    }
  });
  RunFanoutCounted(options, reporter, n, sink, "fanout_epoll");
  uint64_t one = 1;
  if (write(stop, &one, sizeof(one)) != sizeof(one)) perror("write");
  loop.join();
  close(stop);
  close(epoll);
  Unsubscribe(channels);
}

void Memory(const Options& options, const Reporter& reporter,
            const MemorySnapshot& at_start) {
  // One channel first, so the runtime's one-time setup (dispatcher thread,
  // handler tables) is in the footprint but not in the per-channel figure.
  Channels first = Subscribe(1, SIGUSR1);
  const MemorySnapshot before = TakeMemorySnapshot();
  Channels channels = Subscribe(options.memory_channels, SIGUSR1);
  const MemorySnapshot after = TakeMemorySnapshot();
  ReportMemory(reporter, options.memory_channels, at_start, before, after);
  Unsubscribe(channels);
  Unsubscribe(first);
}

int Main(int argc, char** argv) {
  const MemorySnapshot at_start = TakeMemorySnapshot();
  const Options options = ParseOptions(argc, argv);
  CheckMode(options,
            "latency,storm,churn,fanout,fanout_epoll,fanout_other,memory");
  auto backend = portsig::Backend();
  if (!backend.ok()) {
    fprintf(stderr, "%s\n", backend.status().ToString().c_str());
    return 1;
  }
  // A spin (PORTSIG_SPIN_BEFORE_SLEEP) is part of what is measured: name it.
  std::string label = *backend;
  const absl::Duration spin = *portsig::CurrentOptions().spin_before_sleep;
  if (spin > absl::ZeroDuration()) {
    label += "+spin" + absl::FormatDuration(spin);
  }
  const Reporter reporter("portsig", label);

  if (Wants(options, "memory")) Memory(options, reporter, at_start);
  if (Wants(options, "latency")) {
    Sink sink;
    Consumer consumer(SIGUSR1, &sink);
    RunLatency(options, reporter, sink, "latency", SIGUSR1,
               options.latency_iters, options.latency_warmup, /*dump=*/true);
  }
  if (Wants(options, "storm")) {
    Sink sink;
    Consumer consumer(SIGUSR1, &sink);
    RunStorm(options, reporter, sink);
  }
  if (Wants(options, "churn")) {
    for (int others : {0, options.churn_others}) {
      Channels background = Subscribe(others, SIGUSR1);
      SignalChannel ch(1);
      RunChurn(options, reporter, others, [&] {
        MustNotify(ch, SIGUSR1);
        portsig::Stop(ch);
      });
      Unsubscribe(background);
    }
  }
  if (Wants(options, "fanout")) {
    for (int n : options.fanout_sizes) Fanout(options, reporter, n);
  }
  if (Wants(options, "fanout_epoll")) {
    for (int n : options.fanout_sizes) FanoutEpoll(options, reporter, n);
  }
  if (Wants(options, "fanout_other")) {
    for (int waiters : {0, options.other_waiters}) {
      Channels background = Subscribe(waiters, SIGUSR1);
      Sink sink;
      Consumer consumer(SIGUSR2, &sink);
      RunLatency(options, reporter, sink, "fanout_other", SIGUSR2,
                 options.other_iters, options.other_warmup, /*dump=*/false,
                 "waiters", waiters);
      Unsubscribe(background);
    }
  }
  return 0;
}

}  // namespace
}  // namespace portsig_bench

int main(int argc, char** argv) { return portsig_bench::Main(argc, argv); }

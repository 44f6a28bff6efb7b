// portsig under the bench/ protocol (harness.h). The backend is the one the
// library picks: PORTSIG_SIGQUEUE=posix|note, else the build default; a
// spin budget (PORTSIG_SPIN_BEFORE_SLEEP) is named in the backend label.
//
// Consumers, all on the main thread: SignalChannel::Receive in a loop
// (latency, sparse, storm, fanout_other); one epoll loop over a
// ChannelGroup of every channel, one descriptor, taking from the ready
// members with TryReceive (fanout_loop, the peers' model); Receive on the first
// channel while a thread per other channel does the same (fanout_threads).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
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

// Receives on `ch` on the calling (main) thread, bumping `sink` each time
// Receive returns, while `send` runs on the sender thread.
void ReceiveWhile(Placement placement, SignalChannel& ch, int signo, Sink& sink,
                  const std::function<void()>& send) {
  ReceiveLoopPlaced(
      placement, signo, sink,
      [&] {
        ch.Receive();
        return true;
      },
      send);
}

// latency, sparse and fanout_other: one channel received on the main
// thread, with `background` other channels waiting on SIGUSR1.
void Latency(const Options& options, const Reporter& reporter,
             Placement placement, const LatencySpec& spec, int background) {
  Channels others = Subscribe(background, SIGUSR1);
  const int signo = spec.signo != 0 ? spec.signo : SIGUSR1;
  SignalChannel ch(1);
  MustNotify(ch, signo);
  Sink sink;
  ReceiveWhile(placement, ch, signo, sink,
               [&] { RunLatency(options, reporter, placement, sink, spec); });
  portsig::Stop(ch);
  Unsubscribe(others);
}

void Storm(const Options& options, const Reporter& reporter,
           Placement placement) {
  SignalChannel ch(1);
  MustNotify(ch, SIGUSR1);
  Sink sink;
  ReceiveWhile(placement, ch, SIGUSR1, sink,
               [&] { RunStorm(options, reporter, placement, sink); });
  portsig::Stop(ch);
}

// Fan-out to n channels whose consumers share one event loop on the main
// thread, as libuv's and Asio's do: the channels are one ChannelGroup,
// whose one descriptor is in an epoll set beside a stop descriptor; when
// it is readable the loop takes from the members ReadyChannels names with
// TryReceive and bumps the sink.
void FanoutLoop(const Options& options, const Reporter& reporter,
                Placement placement, int n) {
  Channels channels = Subscribe(n, SIGUSR1);
  portsig::ChannelGroup group;
  for (auto& ch : channels) {
    if (absl::Status added = group.Add(ch.get()); !added.ok()) {
      fprintf(stderr, "ChannelGroup::Add: %s\n", added.ToString().c_str());
      exit(1);
    }
  }
  absl::StatusOr<int> group_fd = group.ReadyFd();
  if (!group_fd.ok()) {
    fprintf(stderr, "ChannelGroup::ReadyFd: %s\n",
            group_fd.status().ToString().c_str());
    exit(1);
  }
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  const int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // The stop descriptor.
  epoll_ctl(epoll, EPOLL_CTL_ADD, stop, &event);
  event.data.ptr = &group;
  epoll_ctl(epoll, EPOLL_CTL_ADD, *group_fd, &event);
  Sink sink;
  RunPlaced(
      placement,
      [&] {
        epoll_event events[2];
        SignalChannel* ready[256];
        for (;;) {
          const int got = epoll_wait(epoll, events, 2, -1);
          for (int i = 0; i < got; ++i) {
            if (events[i].data.ptr == nullptr) return;
            while (size_t k = group.ReadyChannels(absl::MakeSpan(ready))) {
              for (size_t j = 0; j < k; ++j) {
                while (ready[j]->TryReceive()) sink.Bump();
              }
            }
          }
        }
      },
      [&] { RunFanout(options, reporter, placement, n, sink, "fanout_loop"); },
      [&] {
        uint64_t one = 1;
        if (write(stop, &one, sizeof(one)) != sizeof(one)) perror("write");
      });
  close(stop);
  close(epoll);
  Unsubscribe(channels);
}

// Fan-out to n channels, each with its own thread blocked in Receive: the
// main thread takes the first, n - 1 threads it starts (inheriting its
// signal mask) the others.
void FanoutThreads(const Options& options, const Reporter& reporter,
                   Placement placement, int n) {
  Channels channels = Subscribe(n, SIGUSR1);
  Sink sink;
  std::atomic<bool> stop{false};
  std::atomic<bool> started{false};
  auto consume = [&](SignalChannel* ch) {
    for (;;) {
      ch->Receive();
      if (stop.load(std::memory_order_acquire)) return;
      sink.Bump();
    }
  };
  RunPlaced(
      placement,
      [&] {
        std::vector<std::thread> threads;
        threads.reserve(n - 1);
        for (int i = 1; i < n; ++i) {
          threads.emplace_back(consume, channels[i].get());
        }
        started.store(true, std::memory_order_release);
        consume(channels[0].get());
        for (std::thread& t : threads) t.join();
      },
      [&] {
        while (!started.load(std::memory_order_acquire)) {
          std::this_thread::yield();
        }
        RunFanout(options, reporter, placement, n, sink, "fanout_threads");
      },
      [&] {
        stop.store(true, std::memory_order_release);
        SendToSelf(SIGUSR1);  // Every channel gets it: every thread leaves.
      });
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
            "placement,latency,sparse,storm,churn,fanout_loop,fanout_threads,"
            "fanout_other,memory");
  // Before portsig's first use: the probe installs a handler of its own.
  if (Wants(options, "placement")) {
    for (Placement p : options.placements) {
      RunPlacementProbe(options, Reporter("probe", "plain_handler"), p);
    }
  }
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
  for (const LatencySpec& spec :
       {LatencyModeSpec(options), SparseModeSpec(options)}) {
    if (!Wants(options, spec.mode.c_str())) continue;
    for (Placement p : options.placements) {
      Latency(options, reporter, p, spec, /*background=*/0);
    }
  }
  if (Wants(options, "storm")) {
    for (Placement p : options.placements) Storm(options, reporter, p);
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
  if (Wants(options, "fanout_loop")) {
    for (Placement p : options.placements) {
      for (int n : options.fanout_sizes) FanoutLoop(options, reporter, p, n);
    }
  }
  if (Wants(options, "fanout_threads")) {
    for (Placement p : options.placements) {
      for (int n : options.fanout_sizes) {
        FanoutThreads(options, reporter, p, n);
      }
    }
  }
  if (Wants(options, "fanout_other")) {
    LatencySpec spec = FanoutOtherModeSpec(options);
    for (Placement p : options.placements) {
      for (int waiters : {0, options.other_waiters}) {
        spec.extra_value = waiters;
        Latency(options, reporter, p, spec, waiters);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace portsig_bench

int main(int argc, char** argv) { return portsig_bench::Main(argc, argv); }

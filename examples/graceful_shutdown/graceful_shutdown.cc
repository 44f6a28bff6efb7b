// graceful_shutdown: a server-shaped program that shuts down cleanly on
// SIGTERM or SIGINT, the way Go programs use signal.NotifyContext.
//
// Promises:
// - Prints "graceful_shutdown: ready pid=N" once the signals are caught.
// - Until the first SIGTERM/SIGINT, a producer thread accepts work items (it
//   stands in for incoming requests) into a bounded queue and a worker
//   thread processes them.
// - At the first of those signals it stops accepting, finishes every item
//   already accepted, prints
//     graceful_shutdown: SIGTERM received; drained N items (M processed)
//   and exits 0.
// - A second SIGTERM/SIGINT during the drain takes the default action and
//   ends the process at once: the escape hatch for a drain that hangs.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "os_signal/signal.h"

namespace {

constexpr size_t kQueueLimit = 16;

// Work accepted but not yet processed. std::mutex rather than a portsig or
// Abseil type: this is what an application would use, and ThreadSanitizer
// sees it.
class WorkQueue {
 public:
  // Blocks while the queue is full; false once closed.
  bool Push(int item) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return closed_ || items_.size() < kQueueLimit; });
    if (closed_) return false;
    items_.push_back(item);
    changed_.notify_all();
    return true;
  }

  // Blocks until an item is ready; false once closed and empty, which is
  // what lets the worker finish the backlog after Close.
  bool Pop(int* item) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    *item = items_.front();
    items_.pop_front();
    changed_.notify_all();
    return true;
  }

  // Stops accepting; returns how many items are left to drain.
  size_t Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    changed_.notify_all();
    return items_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<int> items_;
  bool closed_ = false;
};

}  // namespace

int main() {
  // `once`: the first signal also puts SIGTERM and SIGINT back to their
  // default action, in the same step, so a second one during the drain
  // ends the process. (Go's idiom, calling stop() after Done, absorbs a
  // second signal that lands before stop() runs.)
  portsig::NotifyOptions once;
  once.once = true;
  absl::StatusOr<portsig::SignalContext> shutdown =
      portsig::NotifyContext({SIGTERM, SIGINT}, once);
  if (!shutdown.ok()) {
    std::fprintf(stderr, "graceful_shutdown: %s\n",
                 shutdown.status().ToString().c_str());
    return 1;
  }
  std::printf("graceful_shutdown: ready pid=%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);

  WorkQueue queue;
  std::thread producer([&] {
    for (int item = 1; queue.Push(item); ++item) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  // Processing is slower than arrival, so a backlog exists to drain.
  size_t processed = 0;
  std::thread worker([&] {
    int item;
    while (queue.Pop(&item)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ++processed;
    }
  });

  shutdown->Wait();
  const size_t backlog = queue.Close();
  producer.join();
  worker.join();

  std::optional<portsig::Signal> why = shutdown->signal();
  std::printf(
      "graceful_shutdown: %s received; drained %zu items (%zu "
      "processed)\n",
      why ? why->ToString().c_str() : "no signal", backlog, processed);
  return 0;
}

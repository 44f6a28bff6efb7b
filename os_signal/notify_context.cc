#include "os_signal/notify_context.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "os_signal/delivery.h"
#include "os_signal/handler_map.h"
#include "os_signal/subscriber.h"
#include "os_signal/table.h"
#include "platform/deadline.h"
#include "platform/readiness_fd.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"
#include "runtime/runtime.h"

namespace portsig {
namespace os_signal_internal {

// How often a waiter looks at the queue itself while no dispatcher runs.
constexpr absl::Duration kNoDispatcherPoll = absl::Milliseconds(10);

class ContextState final : public Subscriber,
                           public std::enable_shared_from_this<ContextState> {
 public:
  ContextState() = default;
  // The last reference may go with cancellation enabled: in SignalContext's
  // destructor and assignment (the member goes after their guard has
  // ended), or as a waiter leaves a context destroyed meanwhile. Closing
  // the ready descriptor (close(2)) is a cancellation point, and a
  // cancellation acting in a destructor ends the process (std::terminate).
  ~ContextState() {
    ScopedCancellationOff cancellation;
    ready_.Close();
  }
  ContextState(const ContextState&) = delete;
  ContextState& operator=(const ContextState&) = delete;

  // Always taken: a context that is already done absorbs the signal.
  bool Deliver(const Delivery& delivery,
               BeforePublish* before_publish) override {
    Finish(absl::CancelledError(
               absl::StrCat(delivery.signal.ToString(), " signal received")),
           delivery.signal, before_publish);
    return true;
  }

  // Marks done (first reason wins), leaves its parent and passes it on to
  // children. Runs `before_publish` (if any) first, before a waiter can see
  // it done.
  void Finish(absl::Status why, std::optional<Signal> signal,
              BeforePublish* before_publish = nullptr) {
    Children children;
    std::weak_ptr<ContextState> parent;
    {
      MutexLock lock(&mu_);
      if (before_publish != nullptr) before_publish->Run();
      if (!status_.ok()) return;
      status_ = std::move(why);
      signal_ = std::move(signal);
      children.swap(children_);
      parent.swap(parent_);
      if (ReadyFdLocked() >= 0) ready_.Set();
      done_.SignalAll();
    }
    // Not under this context's lock: a parent finishing its children calls
    // here without its own, and nothing takes the two the other way round.
    if (auto p = parent.lock()) p->ForgetChild(this);
    for (auto& [unused, weak] : children) {
      if (auto child = weak.lock()) {
        child->Finish(absl::CancelledError("parent context done"),
                      std::nullopt);
      }
    }
  }

  // Makes `child` finish when this does, or finishes it at once if this is
  // done already. Before anything else can finish the child.
  void Adopt(const std::shared_ptr<ContextState>& child) {
    {
      MutexLock lock(&child->mu_);
      child->parent_ = weak_from_this();
    }
    {
      MutexLock lock(&mu_);
      if (status_.ok()) {
        children_.emplace(child.get(), child);
        return;
      }
    }
    child->Finish(absl::CancelledError("parent context done"), std::nullopt);
  }

  // The context's object was destroyed (its subscription already removed):
  // it leaves its parent and lets go of its children, and is not made done.
  // A thread waiting in it stays waiting (a WaitFor until its deadline), as
  // a receiver on a destroyed channel does: destruction is no event. During
  // exit() it would wake a waiter (main, say, waiting on a static context)
  // that then returns and calls exit() while the first exit() still runs.
  // The children keep running, done only by their own signals or Stop:
  // finishing them would wake their waiters the same way.
  void Abandon() {
    Children children;
    std::weak_ptr<ContextState> parent;
    {
      MutexLock lock(&mu_);
      children.swap(children_);
      parent.swap(parent_);
    }
    // Not under this context's lock, as in Finish.
    if (auto p = parent.lock()) p->ForgetChild(this);
    for (auto& [unused, weak] : children) {
      if (auto child = weak.lock()) child->ForgetParent(this);
    }
  }

  // `parent` was destroyed: this no longer ends with it.
  void ForgetParent(ContextState* parent) {
    MutexLock lock(&mu_);
    if (parent_.lock().get() == parent) parent_.reset();
  }

  // A child that finished (or was never registered) leaves: a long-lived
  // parent holds only the children still running, as Go's context removes
  // a cancelled child from its parent. A weak_ptr alone would still pin
  // the child's whole allocation (make_shared's control block) until the
  // parent ended.
  void ForgetChild(ContextState* child) {
    MutexLock lock(&mu_);
    children_.erase(child);
  }

  bool WaitUntil(const platform::Deadline& deadline) {
    MutexLock lock(&mu_);
    while (status_.ok()) {
      if (!runtime::DispatcherRunning()) {
        // No thread could be made for the dispatcher (a forked child): look
        // for the signal here, and again every kNoDispatcherPoll.
        mu_.Unlock();
        bool dispatched;
        {
          // Starting threads waits (for the mask thread, a cancellation
          // point): a cancellation acting here would unwind through `lock`
          // with mu_ let go, and unlock it under another thread. It acts
          // in the wait below instead, with mu_ held again.
          ScopedCancellationOff cancellation;
          dispatched = runtime::EnsureDispatcher().ok();
          if (!dispatched) runtime::DeliverQueued();
        }
        mu_.Lock();
        if (!status_.ok()) break;
        if (!dispatched) {
          if (done_.WaitWithDeadline(&mu_,
                                     deadline.EarlierOf(kNoDispatcherPoll)) &&
              deadline.Passed()) {
            return !status_.ok();
          }
          continue;
        }
      }
      if (deadline.infinite()) {
        done_.Wait(&mu_);
        PORTSIG_TEST_HOOK(context_waiter_woken, 0);
      } else {
        const bool timed_out = done_.WaitWithDeadline(&mu_, deadline);
        PORTSIG_TEST_HOOK(context_waiter_woken, 0);
        if (timed_out) return !status_.ok();
      }
    }
    return true;
  }

  absl::Status status() {
    // Not a cancellation point (signal.h): starting the dispatcher and the
    // mask thread in a forked child waits for the mask thread.
    ScopedCancellationOff cancellation;
    // Without a dispatcher a signal waits in the queue until someone looks.
    if (!runtime::DispatcherRunning() && !runtime::EnsureDispatcher().ok()) {
      runtime::DeliverQueued();
    }
    MutexLock lock(&mu_);
    return status_;
  }
  std::optional<Signal> signal() {
    MutexLock lock(&mu_);
    PORTSIG_TEST_HOOK(inside_fork_held_lock, 2);
    return signal_;
  }

  absl::StatusOr<int> ReadyFd() {
    // Opening and setting the descriptor may be cancellation points.
    ScopedCancellationOff cancellation;
    // The descriptor turns readable only when the signal is delivered,
    // which without a dispatcher nobody would do while the host polls it.
    if (absl::Status started = runtime::EnsureDispatcher(); !started.ok()) {
      return started;
    }
    MutexLock lock(&mu_);
    const int fd = ready_.fd() < 0 ? MakeReadyFdLocked() : ReadyFdLocked();
    if (fd < 0) return absl::ErrnoToStatus(errno, "SignalContext::ReadyFd");
    return fd;
  }

 private:
  // Makes a fresh ready descriptor for this process, readable if done; -1
  // (errno set) on failure.
  int MakeReadyFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int fd = ready_.Open();
    ready_fd_generation_ = runtime::ForkGeneration();
    if (fd >= 0 && !status_.ok()) ready_.Set();
    return fd;
  }
  // The ready descriptor, made anew if this process forked since it was
  // created: the inherited one is shared with the parent, whose context
  // is not done because this process's is (nor the other way round). -1
  // if none.
  int ReadyFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (ready_.fd() < 0) return -1;
    if (runtime::ForkGeneration() != ready_fd_generation_) {
      // Open closes our copy, which leaves the parent's descriptor alone.
      return MakeReadyFdLocked();
    }
    return ready_.fd();
  }

  // Held across fork() while in use (platform/sync.h).
  ForkHeldMutex mu_;
  ForkSafeCondVar done_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::optional<Signal> signal_ ABSL_GUARDED_BY(mu_);
  using Children =
      os_signal_internal::HashMap<ContextState*, std::weak_ptr<ContextState>>;
  Children children_ ABSL_GUARDED_BY(mu_);
  // Until this finishes; then it has left the parent's children_.
  std::weak_ptr<ContextState> parent_ ABSL_GUARDED_BY(mu_);
  // Made by the first ReadyFd, set once done and never cleared.
  platform::ReadinessFd ready_ ABSL_GUARDED_BY(mu_);
  uint64_t ready_fd_generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace os_signal_internal

SignalContext::SignalContext(
    std::shared_ptr<os_signal_internal::ContextState> state)
    : state_(std::move(state)) {}

SignalContext::SignalContext(SignalContext&& other) noexcept
    : state_(std::move(other.state_)) {}

SignalContext& SignalContext::operator=(SignalContext&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) Stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

// The subscription is the state's, not this object's: a moved-from context
// holds none and has nothing to unregister. Unregisters as Stop does, but
// does not make the context done (see Abandon).
SignalContext::~SignalContext() {
  if (state_ == nullptr) return;
  ScopedCancellationOff cancellation;
  os_signal_internal::HandlerMap::Get().Remove(state_.get());
  state_->Abandon();
}

bool SignalContext::done() const { return !state_->status().ok(); }

// A waiter holds the state: the context may be destroyed (by another
// thread, or at exit for a static one) while it waits. That does not wake
// it, but a WaitFor still returns at its deadline (and a cancelled waiter
// unwinds) into the state's lock after the destructor has returned.
void SignalContext::Wait() const {
  std::shared_ptr<os_signal_internal::ContextState> state = state_;
  state->WaitUntil(platform::Deadline::Infinite());
}

bool SignalContext::WaitFor(absl::Duration timeout) const {
  std::shared_ptr<os_signal_internal::ContextState> state = state_;
  // Elapsed time, on the monotonic clock (platform/deadline.h).
  return state->WaitUntil(platform::Deadline::In(timeout));
}

bool SignalContext::WaitUntil(absl::Time deadline) const {
  std::shared_ptr<os_signal_internal::ContextState> state = state_;
  return state->WaitUntil(platform::Deadline::At(deadline));
}

absl::StatusOr<int> SignalContext::ReadyFd() { return state_->ReadyFd(); }

std::optional<Signal> SignalContext::signal() const { return state_->signal(); }

absl::Status SignalContext::status() const { return state_->status(); }

void SignalContext::Stop() {
  // Finishing sets the ready descriptor (write(2), a cancellation point)
  // under the state's lock.
  ScopedCancellationOff cancellation;
  os_signal_internal::HandlerMap::Get().Remove(state_.get());
  state_->Finish(absl::CancelledError("context stopped"), std::nullopt);
}

absl::StatusOr<SignalContext> NotifyContext(absl::Span<const Signal> signals,
                                            const SignalContext* parent) {
  return NotifyContext(signals, NotifyOptions(), parent);
}

absl::StatusOr<SignalContext> NotifyContext(absl::Span<const Signal> signals,
                                            const NotifyOptions& options,
                                            const SignalContext* parent) {
  if (options.queue_capacity != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue_capacity ", options.queue_capacity,
                     " has no use for a context, which keeps one signal"));
  }
  if (parent != nullptr && parent->state_ == nullptr) {
    return absl::InvalidArgumentError(
        "parent context was moved from: it refers to no context");
  }
  auto state = std::make_shared<os_signal_internal::ContextState>();
  // Adopted before it is registered, so that no signal can finish it before
  // it knows its parent (which it must leave when it finishes).
  if (parent != nullptr) parent->state_->Adopt(state);
  absl::Status added = os_signal_internal::HandlerMap::Get().Add(
      state.get(), signals, options, /*once_releases_all=*/true);
  if (!added.ok()) {
    if (parent != nullptr) parent->state_->ForgetChild(state.get());
    return added;
  }
  return SignalContext(std::move(state));
}

}  // namespace portsig

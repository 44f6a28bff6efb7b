#include "os_signal/notify_context.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "os_signal/delivery.h"
#include "os_signal/handler_map.h"
#include "os_signal/subscriber.h"
#include "platform/sync.h"

namespace portsig {
namespace os_signal_internal {

class ContextState final : public Subscriber,
                           public std::enable_shared_from_this<ContextState> {
 public:
  // Always taken: a context that is already done absorbs the signal.
  bool Deliver(const Delivery& delivery,
               BeforePublish* before_publish) override {
    Finish(absl::CancelledError(
               absl::StrCat(delivery.signal.ToString(), " signal received")),
           delivery.signal, before_publish);
    return true;
  }

  // Marks done (first reason wins) and passes it on to children. Runs
  // `before_publish` (if any) first, before a waiter can see it done.
  void Finish(absl::Status why, std::optional<Signal> signal,
              BeforePublish* before_publish = nullptr) {
    std::vector<std::weak_ptr<ContextState>> children;
    {
      MutexLock lock(&mu_);
      if (before_publish != nullptr) before_publish->Run();
      if (!status_.ok()) return;
      status_ = std::move(why);
      signal_ = std::move(signal);
      children.swap(children_);
      done_.SignalAll();
    }
    for (auto& weak : children) {
      if (auto child = weak.lock()) {
        child->Finish(absl::CancelledError("parent context done"),
                      std::nullopt);
      }
    }
  }

  // Adds a child, or finishes it at once if this is already done.
  void Adopt(const std::shared_ptr<ContextState>& child) {
    {
      MutexLock lock(&mu_);
      if (status_.ok()) {
        children_.push_back(child);
        return;
      }
    }
    child->Finish(absl::CancelledError("parent context done"), std::nullopt);
  }

  bool WaitUntil(absl::Time deadline) {
    MutexLock lock(&mu_);
    while (status_.ok()) {
      if (deadline == absl::InfiniteFuture()) {
        done_.Wait(&mu_);
      } else if (done_.WaitWithDeadline(&mu_, deadline)) {
        return !status_.ok();
      }
    }
    return true;
  }

  absl::Status status() {
    MutexLock lock(&mu_);
    return status_;
  }
  std::optional<Signal> signal() {
    MutexLock lock(&mu_);
    return signal_;
  }

 private:
  ForkSafeMutex mu_;
  ForkSafeCondVar done_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::optional<Signal> signal_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<ContextState>> children_ ABSL_GUARDED_BY(mu_);
};

}  // namespace os_signal_internal

SignalContext::SignalContext(
    std::shared_ptr<os_signal_internal::ContextState> state)
    : state_(std::move(state)) {}

SignalContext::~SignalContext() { Stop(); }

bool SignalContext::done() const { return !state_->status().ok(); }

void SignalContext::Wait() const { state_->WaitUntil(absl::InfiniteFuture()); }

bool SignalContext::WaitFor(absl::Duration timeout) const {
  return state_->WaitUntil(absl::Now() + timeout);
}

std::optional<Signal> SignalContext::signal() const { return state_->signal(); }

absl::Status SignalContext::status() const { return state_->status(); }

void SignalContext::Stop() {
  os_signal_internal::HandlerMap::Get().Remove(state_.get());
  state_->Finish(absl::CancelledError("context stopped"), std::nullopt);
}

absl::StatusOr<std::unique_ptr<SignalContext>> NotifyContext(
    absl::Span<const Signal> signals, const SignalContext* parent) {
  return NotifyContext(signals, NotifyOptions(), parent);
}

absl::StatusOr<std::unique_ptr<SignalContext>> NotifyContext(
    absl::Span<const Signal> signals, const NotifyOptions& options,
    const SignalContext* parent) {
  if (options.queue_capacity != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue_capacity ", options.queue_capacity,
                     " has no use for a context, which keeps one signal"));
  }
  auto state = std::make_shared<os_signal_internal::ContextState>();
  absl::Status added = os_signal_internal::HandlerMap::Get().Add(
      state.get(), signals, options, /*once_releases_all=*/true);
  if (!added.ok()) return added;
  if (parent != nullptr) parent->state_->Adopt(state);
  return std::unique_ptr<SignalContext>(new SignalContext(std::move(state)));
}

}  // namespace portsig

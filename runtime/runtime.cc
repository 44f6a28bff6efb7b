#include "runtime/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "platform/quiet_thread.h"
#include "platform/spin.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"
#include "runtime/deferred_restore.h"
#include "runtime/sigaction_table.h"

namespace portsig {
namespace runtime {
namespace {

using platform::SigQueue;

// Everything the runtime owns. Never destroyed: signal handlers and the
// detached dispatcher may run during exit.
struct Runtime {
  absl::Status init_status;
  std::unique_ptr<SigQueue> queue;
  std::atomic<DeliveryCallback> callback{nullptr};
  // Serializes sigaction changes and dispatcher start. Taken after
  // os_signal's lock, never before it. Held across fork().
  ForkSafeMutex mu;
  // False in a forked child until the dispatcher is started again there.
  std::atomic<bool> dispatcher_running{false};
  // This process is a PID namespace's init, for which the kernel drops
  // signals whose disposition is SIG_DFL: a lingering handler would catch
  // them instead, so restores never wait.
  bool is_init ABSL_GUARDED_BY(mu) = false;
  DeferredRestore deferred{&mu, &RestoreSaved};
};

Runtime* g_runtime = nullptr;

// Passes one received signal to os_signal, on whichever thread holds the
// queue's receive role.
void Deliver(const platform::QueuedSignal& received) {
  PORTSIG_TEST_HOOK(before_fan_out, received.signo);
  if (DeliveryCallback cb =
          g_runtime->callback.load(std::memory_order_acquire)) {
    cb(received);
  }
}

void DispatchLoop(Runtime* rt) {
  for (;;) {
    rt->queue->Drain(&Deliver, /*wait=*/true);
    rt->queue->AwaitSenders();
  }
}

void StartDispatcherLocked(Runtime* rt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(rt->mu) {
  if (rt->dispatcher_running.load(std::memory_order_acquire)) return;
  platform::StartQuietThread("portsig-signals", [rt] { DispatchLoop(rt); });
  rt->dispatcher_running.store(true, std::memory_order_release);
}

// fork(): the child has no dispatcher thread and may have copied the queue
// mid-operation. Hold the runtime lock across fork so no sigaction change is
// half done, and keep signals blocked in the forking thread until the
// child's queue is reset, so no handler runs in the child against the
// parent's half-copied queue state. The lock serializes forks, so one saved
// mask suffices.
sigset_t g_mask_before_fork;
std::atomic<uint64_t> g_fork_generation{0};

void PrepareFork() {
  g_runtime->mu.Lock();
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &g_mask_before_fork);
}
void ParentAfterFork() {
  pthread_sigmask(SIG_SETMASK, &g_mask_before_fork, nullptr);
  g_runtime->mu.Unlock();
}
void ChildAfterFork() {
  g_runtime->is_init = getpid() == 1;
  g_runtime->deferred.RestoreAllInChild();
  g_runtime->queue->ResetAfterFork();
  g_runtime->dispatcher_running.store(false, std::memory_order_release);
  g_fork_generation.fetch_add(1, std::memory_order_release);
  pthread_sigmask(SIG_SETMASK, &g_mask_before_fork, nullptr);
  g_runtime->mu.Unlock();
}

Runtime* Get() {
  static Runtime* rt = [] {
    auto* r = new Runtime;
    const char* env = getenv("PORTSIG_SIGQUEUE");
    std::string name = env != nullptr && env[0] != '\0'
                           ? std::string(env)
                           : std::string(platform::DefaultSigQueueName());
    auto queue = platform::NewSigQueue(name);
    if (!queue.ok()) {
      r->init_status = absl::InvalidArgumentError(absl::StrCat(
          "PORTSIG_SIGQUEUE=\"", name,
          "\" is not a signal queue backend (want posix or note)"));
      return r;
    }
    if (const char* spin = getenv("PORTSIG_SPIN");
        spin != nullptr && spin[0] != '\0') {
      absl::Duration budget;
      absl::Status set =
          absl::ParseDuration(spin, &budget)
              ? platform::SetSpinBudget(budget)
              : absl::InvalidArgumentError("not a duration such as 50us");
      if (!set.ok()) {
        r->init_status = absl::InvalidArgumentError(
            absl::StrCat("PORTSIG_SPIN=\"", spin, "\": ", set.message()));
        return r;
      }
    }
    r->queue = *std::move(queue);
    r->is_init = getpid() == 1;
    SetHandlerQueue(r->queue.get());
    g_runtime = r;
    pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
    return r;
  }();
  return rt;
}

// The runtime, or nullptr if Init failed.
Runtime* Ready() {
  Runtime* rt = Get();
  return rt->init_status.ok() ? rt : nullptr;
}

}  // namespace

absl::Status Init(DeliveryCallback callback) {
  Runtime* rt = Get();
  if (!rt->init_status.ok()) return rt->init_status;
  if (callback != nullptr) {
    rt->callback.store(callback, std::memory_order_release);
  }
  return absl::OkStatus();
}

absl::string_view BackendName() {
  Runtime* rt = Ready();
  return rt == nullptr ? absl::string_view() : rt->queue->name();
}

absl::Status Enable(int signo) {
  Runtime* rt = Ready();
  if (rt == nullptr) return Get()->init_status;
  MutexLock lock(&rt->mu);
  StartDispatcherLocked(rt);
  // Wanted before installed: the first signal after install is relayed.
  rt->queue->Enable(signo);
  absl::Status installed = InstallHandler(signo);
  if (!installed.ok()) {
    rt->queue->Disable(signo);
    return installed;
  }
  rt->deferred.Cancel(signo);
  return installed;
}

void Disable(int signo) {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  MutexLock lock(&rt->mu);
  rt->queue->Disable(signo);
  if (!HandlerInstalled(signo)) return;
  if (!rt->is_init && RestoreCanWait(signo) && rt->deferred.Defer(signo)) {
    return;
  }
  RestoreSaved(signo);
}

void RestoreIfLingering(int signo) {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  MutexLock lock(&rt->mu);
  if (rt->deferred.Cancel(signo)) RestoreSaved(signo);
}

absl::Status Ignore(int signo) {
  Runtime* rt = Ready();
  if (rt == nullptr) return Get()->init_status;
  MutexLock lock(&rt->mu);
  rt->deferred.Cancel(signo);
  rt->queue->Ignore(signo);
  return InstallIgnore(signo);
}

void Reset(int signo) {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  MutexLock lock(&rt->mu);
  rt->deferred.Cancel(signo);
  rt->queue->Disable(signo);
  rt->queue->Unignore(signo);
  RestoreSaved(signo);
}

bool Ignored(int signo) {
  Runtime* rt = Ready();
  if (rt == nullptr) return KernelIgnores(signo);
  MutexLock lock(&rt->mu);
  if (rt->queue->Ignored(signo)) return true;
  // A lingering handler is not the program's choice; a host may have set
  // SIG_IGN over it since Stop.
  if (HandlerInstalled(signo) && !rt->deferred.Lingering(signo)) return false;
  return KernelIgnores(signo);
}

void EnableNotes() {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  MutexLock lock(&rt->mu);
  StartDispatcherLocked(rt);
  rt->queue->Enable(platform::kTextNoteSlot);
}

void DisableNotes() {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  rt->queue->Disable(platform::kTextNoteSlot);
}

absl::Status QueueNote(absl::string_view text) {
  Runtime* rt = Ready();
  if (rt == nullptr) return Get()->init_status;
  EnsureDispatcher();
  // A note posted here comes from this process, as a kill() would.
  platform::SignalRecord from_us;
  from_us.code = SI_USER;
  from_us.pid = getpid();
  from_us.uid = getuid();
  switch (rt->queue->SendNote(text, from_us)) {
    case platform::SendResult::kQueued:
      return absl::OkStatus();
    case platform::SendResult::kUnsupported:
      return absl::FailedPreconditionError(absl::StrCat(
          "the ", rt->queue->name(), " backend cannot carry text note \"", text,
          "\" (use PORTSIG_SIGQUEUE=note)"));
    case platform::SendResult::kOverflow:
    case platform::SendResult::kCoalesced:
      return absl::ResourceExhaustedError(
          absl::StrCat("note queue full; note \"", text, "\" dropped"));
    case platform::SendResult::kNotWanted:
      break;
  }
  return absl::NotFoundError(
      absl::StrCat("no channel wants note \"", text, "\""));
}

void SetQueueCapacity(int signo, uint32_t capacity) {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  MutexLock lock(&rt->mu);
  rt->queue->SetQueueCapacity(signo, capacity);
}

absl::Status SetRestoreDelay(absl::Duration delay) {
  Runtime* rt = Ready();
  if (rt == nullptr) return Get()->init_status;
  MutexLock lock(&rt->mu);
  return rt->deferred.SetDelay(delay);
}

absl::Duration RestoreDelay() {
  Runtime* rt = Ready();
  if (rt == nullptr) return absl::ZeroDuration();
  MutexLock lock(&rt->mu);
  return rt->deferred.delay();
}

void WaitUntilIdle() {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  EnsureDispatcher();
  rt->queue->WaitUntilIdle(&Deliver);
}

QueuePoller::QueuePoller() {
  Runtime* rt = Ready();
  if (rt == nullptr) return;
  queue_ = rt->queue.get();
  queue_->BeginPoll();
}

QueuePoller::~QueuePoller() {
  if (queue_ != nullptr) queue_->EndPoll(&Deliver);
}

void QueuePoller::Poll() {
  if (queue_ != nullptr) queue_->Poll(&Deliver);
}

void EnsureDispatcher() {
  Runtime* rt = Ready();
  if (rt == nullptr || rt->dispatcher_running.load(std::memory_order_acquire)) {
    return;
  }
  MutexLock lock(&rt->mu);
  StartDispatcherLocked(rt);
}

uint64_t ForkGeneration() {
  return g_fork_generation.load(std::memory_order_acquire);
}

uint64_t QueueOverflows() {
  Runtime* rt = Ready();
  return rt == nullptr ? 0 : rt->queue->overflows();
}

}  // namespace runtime
}  // namespace portsig

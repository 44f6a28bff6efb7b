#include "runtime/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/internal/raw_logging.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "platform/fatal.h"
#include "platform/quiet_thread.h"
#include "platform/record_ring.h"
#include "platform/sigqueue.h"
#include "platform/spin.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"
#include "runtime/config.h"
#include "runtime/deferred_restore.h"
#include "runtime/disposition_chain.h"
#include "runtime/mask_thread.h"
#include "runtime/signal_handler.h"

namespace portsig {
namespace runtime {
namespace {

using platform::SigQueue;

// What the restorer runs when a lingering signal's delay is over.
void RestoreAfterDelay(int signo);

// Everything the runtime owns. Never destroyed: signal handlers and the
// detached dispatcher may run during exit.
struct Runtime {
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
  DeferredRestore deferred{&mu, &RestoreAfterDelay};
  // Opens the named signals on a thread of portsig's (mask_thread.h).
  // Called under mu, whose holder may wait for the thread to change its
  // mask.
  MaskThread mask;
};

Runtime* g_runtime = nullptr;

// With the runtime's lock held, as DeferredRestore calls it. A signal
// whose handler lingered open on the mask thread is blocked there first.
void RestoreAfterDelay(int signo) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  g_runtime->mask.Close(signo);
  Dispositions().RestoreSaved(signo);
}

// On a receiver spinning in Receive (a once release run by its fan-out)
// this sees the spin's temporary block (runtime/spin_mask.h): Disable then
// closes the signal on the mask thread, the choice that is right either way.
bool ThisThreadBlocks(int signo) {
  sigset_t mask;
  return pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0 &&
         sigismember(&mask, signo) == 1;
}

static_assert(kMaxQueueCapacity == platform::kMaxQueueCapacity,
              "runtime.h states the queue's limit");

// Passes one received signal to os_signal, on whichever thread holds the
// queue's receive role, as the runtime's own type: the note is not copied
// (ReceivedSignal views the queue's buffer for the call).
void Deliver(const platform::QueuedSignal& queued) {
  PORTSIG_TEST_HOOK(before_fan_out, queued.signo);
  if (DeliveryCallback cb =
          g_runtime->callback.load(std::memory_order_acquire)) {
    ReceivedSignal received;
    received.signo = queued.signo;
    received.note = queued.note_text();
    received.record = queued.record;
    received.occurrences = queued.occurrences;
    cb(received);
  }
}

void DispatchLoop(Runtime* rt) {
  for (;;) {
    rt->queue->Drain(&Deliver, /*wait=*/true);
    rt->queue->AwaitSenders();
  }
}

absl::Status StartDispatcherLocked(Runtime* rt)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(rt->mu) {
  if (rt->dispatcher_running.load(std::memory_order_acquire)) {
    return absl::OkStatus();
  }
  absl::Status started =
      platform::StartQuietThread("portsig-signals", [rt] { DispatchLoop(rt); });
  if (!started.ok()) return started;
  rt->dispatcher_running.store(true, std::memory_order_release);
  return absl::OkStatus();
}

// Settings, and whether the runtime has started (which fixes the backend).
// Apart from the runtime so that Configure before first use starts nothing.
struct Config {
  ForkSafeMutex mu;
  EnvironmentDefaults env ABSL_GUARDED_BY(mu);
  QueueBackend sigqueue ABSL_GUARDED_BY(mu);
  // Applied to the runtime's DeferredRestore when it starts.
  absl::Duration restore_delay ABSL_GUARDED_BY(mu) = kDefaultRestoreDelay;
  Runtime* started ABSL_GUARDED_BY(mu) = nullptr;
};

const char* GetEnv(const char* name) { return getenv(name); }

Config& TheConfig() {
  static Config* config = [] {
    auto* c = new Config;
    MutexLock lock(&c->mu);
    c->env = ReadEnvironment(&GetEnv);
    c->sigqueue = c->env.values.sigqueue.value_or(
        *ParseQueueBackend(platform::DefaultSigQueueName()));
    if (c->env.values.spin_before_sleep.has_value()) {
      (void)platform::SetSpinBeforeSleep(*c->env.values.spin_before_sleep);
    }
    c->restore_delay = c->env.values.restore_delay.value_or(c->restore_delay);
    return c;
  }();
  return *config;
}

// fork(): the child has no dispatcher thread and may have copied the queue
// mid-operation. Hold the runtime lock across fork so no sigaction change is
// half done, and keep signals blocked in the forking thread until the
// child's queue is reset, so no handler runs in the child against the
// parent's half-copied queue state. The lock serializes forks, so one saved
// mask suffices. Every channel's and context's lock (ForkHeldMutex) and the
// settings' lock are held across fork too, so that none is copied held by a
// thread the child does not have. The order is the one every other path
// takes them in: os_signal's handler map (its handlers run before these),
// the channels' and contexts' locks, the settings, the runtime.
sigset_t g_mask_before_fork;
std::atomic<uint64_t> g_fork_generation{0};

// pthread_sigmask around fork(): it fails only for an invalid `how`, and a
// fork that went on with the wrong mask would break Stop's promise.
void SetForkMask(int how, const sigset_t* mask, sigset_t* old) {
  if (int error = pthread_sigmask(how, mask, old)) {
    platform::Fatal("cannot set the signal mask around fork()", 0, error);
  }
}

// Each of these takes or releases the locks the other ends (around fork()),
// which the thread-safety analysis cannot follow.
void PrepareFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldMutex::PrepareFork();
  TheConfig().mu.Lock();
  g_runtime->mu.Lock();
  g_runtime->mask.PrepareFork();
  sigset_t all;
  sigfillset(&all);
  SetForkMask(SIG_BLOCK, &all, &g_mask_before_fork);
  Dispositions().HoldHandlerResetsForFork();
}
void ParentAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Dispositions().ReleaseHandlerResetsAfterFork();
  SetForkMask(SIG_SETMASK, &g_mask_before_fork, nullptr);
  g_runtime->mask.ParentAfterFork();
  g_runtime->mu.Unlock();
  TheConfig().mu.Unlock();
  ForkHeldMutex::ParentAfterFork();
}
void ChildAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  g_runtime->is_init = getpid() == 1;
  Dispositions().ReleaseHandlerResetsAfterFork();
  // First: the restores below close signals on a mask thread that does not
  // exist here, under the lock PrepareFork took.
  g_runtime->mask.ChildAfterFork();
  g_runtime->deferred.RestoreAllInChild();
  g_runtime->queue->ResetAfterFork();
  g_runtime->dispatcher_running.store(false, std::memory_order_release);
  g_fork_generation.fetch_add(1, std::memory_order_release);
  SetForkMask(SIG_SETMASK, &g_mask_before_fork, nullptr);
  g_runtime->mu.Unlock();
  TheConfig().mu.Unlock();
  ForkHeldMutex::ChildAfterFork();
}

Runtime* Get() {
  static Runtime* rt = [] {
    Config& config = TheConfig();
    MutexLock config_lock(&config.mu);
    auto* r = new Runtime;
    auto queue = platform::NewSigQueue(QueueBackendName(config.sigqueue));
    // Both names are known to the factory; anything else is a bug here.
    ABSL_RAW_CHECK(queue.ok(), "portsig: no factory for a known backend");
    r->queue = *std::move(queue);
    {
      MutexLock lock(&r->mu);
      r->deferred.AssertHeld(&r->mu);
      r->is_init = getpid() == 1;
      (void)r->deferred.SetDelay(config.restore_delay);
    }
    SetHandlerQueue(r->queue.get());
    g_runtime = r;
    config.started = r;
    pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
    return r;
  }();
  return rt;
}

}  // namespace

absl::Status Init(DeliveryCallback callback) {
  Runtime* rt = Get();
  if (callback != nullptr) {
    rt->callback.store(callback, std::memory_order_release);
  }
  return absl::OkStatus();
}

absl::string_view BackendName() { return Get()->queue->name(); }

absl::Status Enable(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  if (absl::Status started = StartDispatcherLocked(rt); !started.ok()) {
    return started;
  }
  // Wanted before installed: the first signal after install is relayed.
  rt->queue->Enable(signo);
  // A lingering handler stands for a restore already promised: if a host
  // installed its own over it since Stop, that is the restored state, and
  // this subscription stands in for the host's handler, as after a restore.
  if (rt->deferred.Lingering(signo) &&
      !Dispositions().OurHandlerInPlace(signo)) {
    rt->deferred.Cancel(signo);
    Dispositions().RestoreSaved(signo);
  }
  absl::Status installed = Dispositions().InstallHandler(signo);
  if (!installed.ok()) {
    rt->queue->Disable(signo);
    return installed;
  }
  rt->deferred.Cancel(signo);
  return installed;
}

void Disable(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  const bool can_wait = Dispositions().HandlerInstalled(signo) &&
                        !rt->is_init && Dispositions().RestoreCanWait(signo);
  // Blocked on the mask thread before the signal is unwanted: one sent from
  // now on stays pending where the program blocks it everywhere, as without
  // portsig, rather than reach the disposition being put back. Except while
  // the handler lingers, if this thread does not block the signal: then it
  // is not blocked everywhere, the lingering handler does the same on
  // either thread (the default action), and a Notify within the delay
  // finds it open, so a subscribe/unsubscribe loop changes no mask, as it
  // makes no sigaction call.
  const bool keep_open =
      can_wait && rt->mask.IsOpen(signo) && !ThisThreadBlocks(signo);
  if (!keep_open) rt->mask.Close(signo);
  rt->queue->Disable(signo);
  if (!Dispositions().HandlerInstalled(signo)) return;
  if (can_wait && rt->deferred.Defer(signo)) return;
  rt->mask.Close(signo);
  Dispositions().RestoreSaved(signo);
}

void DisableAtOnce(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  rt->mask.Close(signo);
  rt->queue->Disable(signo);
  if (Dispositions().HandlerInstalled(signo))
    Dispositions().RestoreSaved(signo);
}

void RestoreIfLingering(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  if (rt->deferred.Cancel(signo)) RestoreAfterDelay(signo);
}

absl::Status Ignore(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  rt->deferred.Cancel(signo);
  rt->mask.Close(signo);
  rt->queue->Ignore(signo);
  return Dispositions().InstallIgnore(signo);
}

void Reset(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  rt->deferred.Cancel(signo);
  rt->mask.Close(signo);
  rt->queue->Disable(signo);
  rt->queue->Unignore(signo);
  Dispositions().RestoreSaved(signo);
}

absl::Status OpenMask(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  return rt->mask.Open(signo);
}

absl::Status OpenMask(const std::bitset<platform::kMaxSignal + 1>& signals) {
  Runtime* rt = Get();
  // Already open (a Notify of a signal whose handler lingers, or that a
  // Notify names again): nothing to wait for, and no lock. The one close
  // not made under the handler map's lock, which the caller holds, is a
  // lingering handler's restore; the caller's Enable has cancelled it, or
  // waited for it under rt->mu, so a close it made is seen here.
  if (rt->mask.AllOpen(signals)) return absl::OkStatus();
  MutexLock lock(&rt->mu);
  return rt->mask.Open(signals);
}

void CloseMask(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->mask.Close(signo);
}

bool MaskOpen(int signo) { return Get()->mask.IsOpen(signo); }

bool Ignored(int signo) {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->deferred.AssertHeld(&rt->mu);
  if (rt->queue->Ignored(signo)) return true;
  // A lingering handler is not the program's choice; a host may have set
  // SIG_IGN over it since Stop.
  if (Dispositions().HandlerInstalled(signo) && !rt->deferred.Lingering(signo))
    return false;
  return Dispositions().KernelIgnores(signo);
}

absl::Status EnableNotes() {
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  if (absl::Status started = StartDispatcherLocked(rt); !started.ok()) {
    return started;
  }
  rt->queue->Enable(platform::kTextNoteSlot);
  return absl::OkStatus();
}

void DisableNotes() {
  Runtime* rt = Get();
  rt->queue->Disable(platform::kTextNoteSlot);
}

absl::Status QueueNote(absl::string_view text) {
  Runtime* rt = Get();
  // Queued with nobody to deliver it, the note would wait for ever.
  if (absl::Status started = EnsureDispatcher(); !started.ok()) return started;
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
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  rt->queue->SetQueueCapacity(signo, capacity);
}

absl::Status Configure(const SettingsUpdate& update) {
  if (absl::Status valid = Validate(update); !valid.ok()) return valid;
  Config& config = TheConfig();
  MutexLock config_lock(&config.mu);
  if (update.sigqueue.has_value() && config.started != nullptr &&
      *update.sigqueue != config.sigqueue) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sigqueue ", QueueBackendName(*update.sigqueue),
        ": the backend is fixed once portsig is in use, and this process "
        "runs on ",
        QueueBackendName(config.sigqueue)));
  }
  // Validated above: nothing below can fail, so the update is all or none.
  if (update.sigqueue.has_value()) {
    config.sigqueue = *update.sigqueue;
    config.env.sigqueue_problem.clear();
  }
  if (update.spin_before_sleep.has_value()) {
    (void)platform::SetSpinBeforeSleep(*update.spin_before_sleep);
    config.env.spin_before_sleep_problem.clear();
  }
  if (update.restore_delay.has_value()) {
    config.restore_delay = *update.restore_delay;
    config.env.restore_delay_problem.clear();
    if (Runtime* rt = config.started) {
      MutexLock lock(&rt->mu);
      rt->deferred.AssertHeld(&rt->mu);
      (void)rt->deferred.SetDelay(*update.restore_delay);
    }
  }
  return absl::OkStatus();
}

Settings CurrentSettings() {
  Config& config = TheConfig();
  MutexLock config_lock(&config.mu);
  PORTSIG_TEST_HOOK(inside_fork_held_lock, 3);
  Settings now;
  now.sigqueue = config.sigqueue;
  now.spin_before_sleep = platform::SpinBeforeSleep();
  now.restore_delay = config.restore_delay;
  return now;
}

std::string EnvironmentProblems() {
  Config& config = TheConfig();
  MutexLock config_lock(&config.mu);
  std::string problems;
  for (const std::string* problem :
       {&config.env.sigqueue_problem, &config.env.spin_before_sleep_problem,
        &config.env.restore_delay_problem}) {
    if (problem->empty()) continue;
    absl::StrAppend(&problems, problems.empty() ? "" : "; ", *problem);
  }
  return problems;
}

void WaitUntilIdle() {
  Runtime* rt = Get();
  // Best effort: WaitUntilIdle delivers what is queued itself, so Stop keeps
  // its promise in a process where no thread can be made.
  (void)EnsureDispatcher();
  rt->queue->WaitUntilIdle(&Deliver);
}

bool Idle() { return Get()->queue->Idle(); }

bool QueueWants(int signo) { return Get()->queue->Wanted(signo); }

QueuePoller::QueuePoller() {
  Runtime* rt = Get();
  queue_ = rt->queue.get();
  queue_->BeginPoll();
}

QueuePoller::~QueuePoller() {
  if (queue_ != nullptr) queue_->EndPoll(&Deliver);
}

void QueuePoller::Poll() {
  if (queue_ != nullptr) queue_->Poll(&Deliver);
}

QueueSleeper::QueueSleeper()
    : queue_(Get()->queue.get()), slot_(queue_->BeginSleep()) {}

QueueSleeper::~QueueSleeper() { queue_->EndSleep(slot_, &Deliver); }

void QueueSleeper::Sleep(absl::FunctionRef<bool()> done,
                         const platform::Deadline& deadline) {
  queue_->Sleep(slot_, &Deliver, done, deadline);
}

void QueueSleeper::Wake() { SigQueue::WakeSleeper(slot_); }

bool DispatcherReady() {
  Runtime* rt = Get();
  return rt->dispatcher_running.load(std::memory_order_acquire) &&
         !rt->mask.NeedsStart();
}

absl::Status EnsureDispatcher() {
  if (DispatcherReady()) return absl::OkStatus();
  Runtime* rt = Get();
  MutexLock lock(&rt->mu);
  absl::Status started = StartDispatcherLocked(rt);
  // A forked child whose parent had signals open on its mask thread makes
  // its own here, as it does its dispatcher. Best effort: without it only
  // a signal every thread blocks waits; the next Notify naming one says
  // why.
  (void)rt->mask.EnsureRunning();
  return started;
}

bool DispatcherRunning() {
  return Get()->dispatcher_running.load(std::memory_order_acquire);
}

void DeliverQueued() {
  Runtime* rt = Get();
  rt->queue->Drain(&Deliver, /*wait=*/false);
}

uint64_t ForkGeneration() {
  return g_fork_generation.load(std::memory_order_acquire);
}

uint64_t QueueOverflows() {
  Runtime* rt = Get();
  return rt->queue->overflows();
}

}  // namespace runtime
}  // namespace portsig

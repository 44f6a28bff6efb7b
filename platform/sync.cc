#include "platform/sync.h"

#include <time.h>

#include <vector>

#include "absl/base/internal/raw_logging.h"

namespace portsig {

ForkSafeCondVar::ForkSafeCondVar() { ReinitInChild(); }

ForkSafeCondVar::~ForkSafeCondVar() { pthread_cond_destroy(&cv_); }

// Also the constructor's initialization. Not pthread_cond_destroy first: it,
// too, waits for the counted waiters.
void ForkSafeCondVar::ReinitInChild() {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cv_, &attr);
  pthread_condattr_destroy(&attr);
}

void ForkSafeCondVar::Wait(ForkSafeMutex* mu) {
  pthread_cond_wait(&cv_, &mu->mu_);
}

bool ForkSafeCondVar::WaitWithDeadline(ForkSafeMutex* mu,
                                       const platform::Deadline& deadline) {
  if (deadline.infinite()) {
    Wait(mu);
    return false;
  }
  // Both the wait and the check on CLOCK_MONOTONIC (the condition
  // variable's clock): no step of the wall clock stretches or cuts it.
  const struct timespec until = deadline.ToMonotonicTimespec();
  pthread_cond_timedwait(&cv_, &mu->mu_, &until);
  return deadline.Passed();
}

void ForkSafeCondVar::SignalAll() { pthread_cond_broadcast(&cv_); }

// The ForkHeldMutex's own mutex is held whenever it is: the analysis
// cannot see that one implies the other.
void ForkSafeCondVar::Wait(ForkHeldMutex* mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Wait(&mu->mu_);
}

bool ForkSafeCondVar::WaitWithDeadline(ForkHeldMutex* mu,
                                       const platform::Deadline& deadline)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return WaitWithDeadline(&mu->mu_, deadline);
}

namespace {

// The listed locks one thread uses, innermost last. Two at most in
// portsig (a channel's, then its group's); room for a few more. Trivially
// destructible, so thread_local costs no allocation per thread (a forked
// child would inherit dead threads' ones, which LeakSanitizer reports):
// a thread leaves the list through a pthread key's destructor instead.
constexpr int kMaxUses = 4;
struct ThreadUses {
  std::atomic<ForkHeldMutex*> uses[kMaxUses];
  // Entries in use; only this thread reads or writes it.
  int depth;
  bool listed;
  // The list of every thread's record, guarded by the registry's lock.
  ThreadUses* prev;
  ThreadUses* next;
};

void Unlist(void* record);

// Every thread's record, and the gate fork closes. Never destroyed:
// channels may be used during exit, after static destructors have run.
struct ForkHeldRegistry {
  ForkHeldRegistry() { pthread_key_create(&key, &Unlist); }
  ForkSafeMutex mu;
  ThreadUses* threads ABSL_GUARDED_BY(mu) = nullptr;
  // Set to a listed thread's record: unlists it when the thread exits.
  pthread_key_t key;
  // Closed (true) from PrepareFork until fork() has returned; a thread
  // about to use a listed lock, using none, waits at it meanwhile.
  std::atomic<bool> gate_closed{false};
  ForkSafeMutex gate_mu;
  ForkSafeCondVar gate_opened;
  // What PrepareFork took.
  std::vector<ForkHeldMutex*> held ABSL_GUARDED_BY(mu);
};

ForkHeldRegistry& TheRegistry() {
  static ForkHeldRegistry* registry = new ForkHeldRegistry;
  return *registry;
}

ABSL_CONST_INIT thread_local ThreadUses t_uses = {};

void Unlist(void* record) {
  auto* me = static_cast<ThreadUses*>(record);
  ForkHeldRegistry& registry = TheRegistry();
  MutexLock lock(&registry.mu);
  if (me->prev != nullptr) {
    me->prev->next = me->next;
  } else {
    registry.threads = me->next;
  }
  if (me->next != nullptr) me->next->prev = me->prev;
  me->listed = false;
}

void List(ThreadUses* me) {
  ForkHeldRegistry& registry = TheRegistry();
  MutexLock lock(&registry.mu);
  me->prev = nullptr;
  me->next = registry.threads;
  if (me->next != nullptr) me->next->prev = me;
  registry.threads = me;
  me->listed = true;
  pthread_setspecific(registry.key, me);
}

}  // namespace

ForkHeldMutex::~ForkHeldMutex() {
  // A PrepareFork that read this lock in the record of a thread that has
  // since let go of it may still lock it, holding the registry's lock: wait
  // for that fork to be over before the memory goes. That read came after
  // the gate closed and before the record was cleared (all sequentially
  // consistent), so a destructor that follows the clearing sees the gate
  // closed, or open again once the fork is over.
  ForkHeldRegistry& registry = TheRegistry();
  if (registry.gate_closed.load(std::memory_order_seq_cst)) {
    MutexLock lock(&registry.mu);
  }
}

void ForkHeldMutex::Lock() {
  ThreadUses& me = t_uses;
  if (!me.listed) List(&me);
  const int depth = me.depth;
  ABSL_RAW_CHECK(depth < kMaxUses, "portsig: too many fork-held locks");
  // Recorded before the gate is read, and PrepareFork closes the gate before
  // it reads the records (both sequentially consistent): either this thread
  // sees the gate closed and waits, or PrepareFork sees the record and
  // takes mu_ after this thread is done with it.
  me.uses[depth].store(this, std::memory_order_seq_cst);
  if (depth == 0) {
    ForkHeldRegistry& registry = TheRegistry();
    while (registry.gate_closed.load(std::memory_order_seq_cst)) {
      me.uses[0].store(nullptr, std::memory_order_seq_cst);
      {
        // Taking a lock is no cancellation point, and the condition
        // variable's wait is: a cancellation acting here would unwind out
        // of calls promised not to be cancellation points (size(),
        // signal()), or through a lock guard whose lock was let go by hand
        // and is being taken back, which then unlocks it a second time.
        ScopedCancellationOff cancellation;
        MutexLock lock(&registry.gate_mu);
        while (registry.gate_closed.load(std::memory_order_seq_cst)) {
          registry.gate_opened.Wait(&registry.gate_mu);
        }
      }
      me.uses[0].store(this, std::memory_order_seq_cst);
    }
  }
  me.depth = depth + 1;
  mu_.Lock();
}

void ForkHeldMutex::Unlock() {
  mu_.Unlock();
  ThreadUses& me = t_uses;
  // Usually the last entry; released out of order, the ones above move
  // down (each stays recorded throughout).
  int i = me.depth - 1;
  while (i > 0 && me.uses[i].load(std::memory_order_relaxed) != this) --i;
  for (; i + 1 < me.depth; ++i) {
    me.uses[i].store(me.uses[i + 1].load(std::memory_order_relaxed),
                     std::memory_order_seq_cst);
  }
  me.uses[i].store(nullptr, std::memory_order_seq_cst);
  --me.depth;
}

// The locks are taken here and released in another function (around
// fork()), which the thread-safety analysis cannot follow.
void ForkHeldMutex::PrepareFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldRegistry& registry = TheRegistry();
  registry.mu.Lock();
  registry.gate_closed.store(true, std::memory_order_seq_cst);
  // The inner ones last, as every other path takes them: a thread holding
  // an outer lock may be waiting for an inner one, never the reverse. Once
  // every outer lock in use is held here, no thread holds an inner one
  // under an outer one, and none can take one alone past the gate. A lock
  // read here is alive: its destructor waits for the registry's lock.
  for (Order order : {Order::kOuter, Order::kInner}) {
    for (ThreadUses* t = registry.threads; t != nullptr; t = t->next) {
      for (auto& use : t->uses) {
        ForkHeldMutex* m = use.load(std::memory_order_seq_cst);
        if (m == nullptr || m->order_ != order || m->held_for_fork_) continue;
        m->mu_.Lock();
        m->held_for_fork_ = true;
        registry.held.push_back(m);
      }
    }
  }
  // A thread waiting at the gate may hold gate_mu for a moment.
  registry.gate_mu.Lock();
}

void ForkHeldMutex::ReleaseAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldRegistry& registry = TheRegistry();
  for (ForkHeldMutex* m : registry.held) {
    m->held_for_fork_ = false;
    m->mu_.Unlock();
  }
  registry.held.clear();
  registry.gate_closed.store(false, std::memory_order_seq_cst);
}

void ForkHeldMutex::ParentAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldRegistry& registry = TheRegistry();
  ReleaseAfterFork();
  registry.gate_opened.SignalAll();
  registry.gate_mu.Unlock();
  registry.mu.Unlock();
}

void ForkHeldMutex::ChildAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldRegistry& registry = TheRegistry();
  ReleaseAfterFork();
  // The other threads' records lived in their thread-local storage, which
  // the child's next threads reuse: only this thread's is real here.
  ThreadUses& me = t_uses;
  me.prev = me.next = nullptr;
  registry.threads = me.listed ? &me : nullptr;
  // Parent threads waiting at the gate are not here; the copy counts them.
  registry.gate_opened.ReinitInChild();
  registry.gate_mu.Unlock();
  registry.mu.Unlock();
}

}  // namespace portsig

#include "os_signal/handler_map.h"

#include <pthread.h>

#include <algorithm>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/base/internal/raw_logging.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "os_signal/group_state.h"
#include "platform/fatal.h"
#include "platform/test_hooks.h"
#include "platform/this_thread.h"
#include "runtime/runtime.h"

namespace portsig {
namespace os_signal_internal {
namespace {

void DeliverFromRuntime(const runtime::ReceivedSignal& received) {
  HandlerMap::Get().Deliver(received);
}

// The lock is taken in one function and released in another (around
// fork()), which the thread-safety analysis cannot follow.
void PrepareFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  HandlerMap::Get().LockForFork();
}
void ParentAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  HandlerMap::Get().UnlockAfterFork();
}
void ChildAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  HandlerMap::Get().ResetInForkedChild();
}

Delivery ToDelivery(const runtime::ReceivedSignal& received) {
  Delivery delivery;
  delivery.signal = received.signo != 0 ? Signal(received.signo)
                                        : Signal::Note(received.note);
  delivery.code = received.record.code;
  delivery.sender_pid = received.record.pid;
  delivery.sender_uid = received.record.uid;
  if (received.record.has_value) {
    sigval value;
    value.sival_ptr = reinterpret_cast<void*>(received.record.value);
    delivery.value = value;
  }
  delivery.occurrences = received.occurrences;
  return delivery;
}

}  // namespace

void HandlerMap::ResetInForkedChild() {
  stopping_.DropEntries();
  // Read now, while every thread's stack is still the parent's copy: the
  // child has only the thread that forked.
  const pthread_t forker = pthread_self();
  HashSet<Subscriber*> gone;
  auto consider = [&](Subscriber* s) {
    if (s->stack_owner_.has_value() &&
        !pthread_equal(*s->stack_owner_, forker)) {
      gone.insert(s);
    }
  };
  for (int signo = 0; signo <= platform::kMaxSignal; ++signo) {
    for (Subscriber* s : by_signal_.Of(signo)) consider(s);
  }
  for (Subscriber* s : all_notes_) consider(s);
  for (const auto& [unused, subscribers] : by_note_) {
    for (Subscriber* s : subscribers) consider(s);
  }
  if (!gone.empty()) {
    in_fork_child_ = true;
    for (Subscriber* s : gone) {
      Wanted lost;
      TakeAllLocked(s, &lost);
    }
    UpdateNotesWantedLocked();
    in_fork_child_ = false;
  }
  mu_.Unlock();
}

HandlerMap& HandlerMap::Get() {
  static HandlerMap* map = new HandlerMap();
  return *map;
}

absl::Status HandlerMap::EnsureRuntimeLocked() {
  if (runtime_ready_) return absl::OkStatus();
  // Makes threads and waits for them.
  HoldCancellationOffLocked();
  absl::Status status = runtime::Init(&DeliverFromRuntime);
  if (!status.ok()) return status;
  // Registered after the runtime's own handlers, so at fork this lock is
  // taken before the runtime's (the same order as everywhere else).
  pthread_atfork(&PrepareFork, &ParentAfterFork, &ChildAfterFork);
  runtime_ready_ = true;
  return absl::OkStatus();
}

// The two fast paths below are Add and TakeAllLocked narrowed to the
// usual Notify+Stop of a signal other channels also want (issue 14, churn
// with 1,000 others): every step of the general path that they skip is one
// that does nothing in that case (no install or mask change, no queue
// mode, no once, no notes, no parked entry to cover). Skipping its checks,
// bit sets and moves takes a fifth of the instructions of a pair away
// (callgrind of BM_NotifyStop/others:1000 over ~620,000 pairs: ~900 to
// ~715) and adds a third to the pairs a second (BENCHMARKS.md). Anything
// else takes the general path.
bool HandlerMap::AddNamedSignalFastLocked(Subscriber* subscriber,
                                          absl::Span<const Signal> signals,
                                          const NotifyOptions& options) {
#ifdef PORTSIG_TEST_HOOKS
  if (test_hooks::no_handler_map_fast_paths.load()) return false;
#endif
  if (signals.size() != 1 || signals[0].is_note() || options.once ||
      options.queue_capacity != 0 || !runtime_ready_ || !once_.empty()) {
    return false;
  }
  const int signo = signals[0].number();
  // Installed and open on the mask thread already (others want and name
  // it), and nobody's queue mode to record.
  if (named_count_[signo] == 0 || by_signal_.Of(signo).empty() ||
      !queue_requests_.none(signo) || !runtime::DispatcherReady()) {
    return false;
  }
  Wanted& wanted = WantedLocked(subscriber);
  RecordStackOwnerLocked(subscriber);
  if (!wanted.signals.test(signo)) {
    by_signal_.Insert(signo, subscriber);
    wanted.signals.set(signo);
  }
  // Named by others already: nothing to open.
  SignalBits newly_named, to_open;
  NameLocked(&wanted, signo, &newly_named, &to_open);
  return true;
}

bool HandlerMap::TakeSharedSignalsFastLocked(Subscriber* subscriber,
                                             Wanted* lost) {
#ifdef PORTSIG_TEST_HOOKS
  if (test_hooks::no_handler_map_fast_paths.load()) return false;
#endif
  Wanted* wanted = FindWantedLocked(subscriber);
  if (wanted == nullptr || wanted->signals.none() || wanted->all_notes ||
      wanted->has_notes() || !once_.none() || !stopping_.empty()) {
    return false;
  }
  // Each signal stays wanted, and named if it was, by someone else: nothing
  // to restore or close.
  bool shared = true;
  ForEachSignal(wanted->signals, [&](int s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    shared = shared && by_signal_.Of(s).size() > 1 && queue_requests_.none(s) &&
             (!wanted->named.test(s) || named_count_[s] > 1);
  });
  if (!shared) return false;
  // Neither the last subscriber nor the last name: only the index and the
  // name count change.
  ForEachSignal(wanted->signals, [&](int s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    UnindexSignalLocked(subscriber, s, wanted->named.test(s),
                        /*disable_when_last=*/true);
  });
  // Parked, it is a record of what to deliver, which names nothing.
  lost->signals = wanted->signals;
  wanted->signals.reset();
  wanted->named.reset();
  return true;
}

absl::Status HandlerMap::Add(Subscriber* subscriber,
                             absl::Span<const Signal> signals,
                             const NotifyOptions& options,
                             bool once_releases_all) {
  // Not a cancellation point (see HandlerMap's class comment): held off
  // from the first step that may reach one, after the lock guard goes.
  LazyCancellationOff cancellation;
  for (const Signal& signal : signals) {
    if (absl::Status valid = signal.Validate(); !valid.ok()) return valid;
  }
  // Queue mode is rare: no call at all without it.
  if (options.queue_capacity != 0) {
    if (absl::Status valid =
            ValidateQueueCapacity(signals, options.queue_capacity);
        !valid.ok()) {
      return valid;
    }
  }
  MutexLock lock(&mu_);
  BindCancellation bound(this, &cancellation);
  if (AddNamedSignalFastLocked(subscriber, signals, options)) {
    return absl::OkStatus();
  }
  if (absl::Status ready = EnsureRuntimeLocked(); !ready.ok()) return ready;
  // Started before anything changes, so a thread that cannot be made fails
  // the call with nothing to take back. In a forked child whose parent
  // already ran portsig, nothing else may restart the dispatcher before a
  // context waits on it. Starting one waits for it.
  if (!runtime::DispatcherReady()) {
    HoldCancellationOffLocked();
    if (absl::Status started = runtime::EnsureDispatcher(); !started.ok()) {
      return started;
    }
  }
  Wanted& wanted = WantedLocked(subscriber);
  RecordStackOwnerLocked(subscriber);
  // What this call added or changed, so a failure can take all of it back.
  Wanted added;
  absl::InlinedVector<std::pair<int, uint32_t>, 1> replaced_requests;
  auto add_signal = [&](int signo)
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    // Nobody uses queue mode on this signal and this call does not either:
    // nothing to record or change (the usual Notify).
    if (options.queue_capacity != 0 || !queue_requests_.none(signo)) {
      // Sets the runtime's capacity under its lock.
      HoldCancellationOffLocked();
      replaced_requests.emplace_back(signo,
                                     queue_requests_.Find(subscriber, signo));
      // Before the handler goes in, so its first occurrence is queued too.
      queue_requests_.Set(subscriber, signo, options.queue_capacity);
    }
    if (wanted.signals.test(signo)) return absl::OkStatus();
    // Subscribe before enabling: a signal that arrives right after the
    // handler goes in waits on our lock and then finds the subscriber.
    // Indexed first: if that allocation throws, nothing else changed.
    by_signal_.Insert(signo, subscriber);
    wanted.signals.set(signo);
    added.signals.set(signo);
    if (by_signal_.Of(signo).size() == 1) {
      // Installs the handler, may open the signal on the mask thread.
      HoldCancellationOffLocked();
      return runtime::Enable(signo);
    }
    return absl::OkStatus();
  };
  // Named now by this call, and not before; and named by nobody before.
  SignalBits newly_named;
  SignalBits to_open;
  absl::Status status;
  // Out of memory (std::bad_alloc from a string or vector; portsig's hash
  // tables end the process instead, table.h): each step below either
  // completes or changes nothing, so a throw is taken back as a failed
  // status is, and then goes on to the caller with nothing changed.
  bool out_of_memory = false;
  try {
    if (signals.empty()) {
      // Every signal: installs, closes on the mask thread; rare.
      HoldCancellationOffLocked();
      const auto& all = CatchableSignals();
      for (int s = 1; s <= platform::kMaxSignal && status.ok(); ++s) {
        if (!all.test(s)) continue;
        const bool was_wanted = !by_signal_.Of(s).empty();
        status = add_signal(s);
        // Taken over from a lingering handler that a thread that did not
        // block it left open on the mask thread (runtime::Disable): every
        // signal opens nothing there.
        if (status.ok() && !was_wanted && named_count_[s] == 0) {
          runtime::CloseMask(s);
        }
      }
      if (status.ok() && !wanted.all_notes) {
        all_notes_.insert(subscriber);
        wanted.all_notes = true;
        added.all_notes = true;
      }
    } else {
      for (const Signal& signal : signals) {
        if (!status.ok()) break;
        if (!signal.is_note()) {
          status = add_signal(signal.number());
          if (status.ok()) {
            NameLocked(&wanted, signal.number(), &newly_named, &to_open);
          }
        } else if (wanted.notes == nullptr ||
                   !wanted.notes->contains(signal.note())) {
          // What may throw first: the record (the rollback skips a note
          // `wanted` lacks) and the strings for the index and `wanted`;
          // then, with nothing left to allocate (table.h), both.
          added.AddNote(signal.note());
          std::string key = signal.note();
          std::string mine = signal.note();
          if (wanted.notes == nullptr) {
            wanted.notes = std::make_unique<HashSet<std::string>>();
          }
#ifdef PORTSIG_TEST_HOOKS
          if (!test_hooks::skip_note_index.load())
#endif
            by_note_[std::move(key)].insert(subscriber);
          wanted.notes->insert(std::move(mine));
        }
      }
      // Opened after every handler is in place: a signal the program has
      // blocked and pending since before goes to portsig, not to the default
      // action. All at once: each change of the mask thread's mask is a
      // round trip to it (sigwatch --relay names some 30 signals).
      if (status.ok() && to_open.any()) {
        HoldCancellationOffLocked();  // A round trip to the mask thread.
        status = runtime::OpenMask(to_open);
      }
    }
    if (status.ok())
      once_.Set(subscriber, signals, options.once, once_releases_all);
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
    status = absl::ResourceExhaustedError("out of memory");
  }
  if (!status.ok()) {
    // Restores and closes what it had installed and opened.
    HoldCancellationOffLocked();
    ForEachSignal(newly_named, [&](int s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      wanted.named.reset(s);
      UnnameLocked(s);
    });
    // Nothing was delivered meanwhile (we hold the lock), so no park needed.
    Wanted discarded;
    DropLocked(subscriber, added, &discarded);
    // A failed Notify puts back at once what it installed, rather than
    // after the restore delay (so does one that reused a lingering handler).
    ForEachSignal(added.signals, &runtime::RestoreIfLingering);
    // Capacity 0 also for a signal this call set a request for and then
    // could not index (bad_alloc): no request is left for it.
    for (const auto& [signo, capacity] : replaced_requests) {
      if (wanted.signals.test(signo) || capacity == 0) {
        queue_requests_.Set(subscriber, signo, capacity);
      }
    }
  }
  UpdateNotesWantedLocked();
  if (wanted.empty()) once_.Forget(subscriber);
  if (out_of_memory) throw std::bad_alloc();
  return status;
}

void HandlerMap::ReleaseOnceLocked(Subscriber* subscriber,
                                   const runtime::ReceivedSignal& received,
                                   Wanted* lost) {
  switch (once_.WhatEnds(subscriber, received)) {
    case OnceSubscriptions::Ends::kEverything:
      TakeAllLocked(subscriber, lost);
      break;
    case OnceSubscriptions::Ends::kSignal:
      DropSignalLocked(subscriber, received.signo, lost);
      break;
    case OnceSubscriptions::Ends::kAllNotes:
      DropAllNotesLocked(subscriber, lost);
      break;
    case OnceSubscriptions::Ends::kNote:
      DropNoteLocked(subscriber, std::string(received.note), lost);
      break;
  }
  ForgetIfEmptyLocked(subscriber);
  UpdateNotesWantedLocked();
}

void HandlerMap::Remove(Subscriber* subscriber) {
  // Not a cancellation point (see HandlerMap's class comment): held off
  // from the first step that may reach one.
  LazyCancellationOff cancellation;
  WaitList ids;
  bool idle = false;
  {
    MutexLock lock(&mu_);
    BindCancellation bound(this, &cancellation);
    Wanted lost;
    // The fast path runs only when nothing is parked.
    bool removed = TakeSharedSignalsFastLocked(subscriber, &lost);
    if (!removed) {
      // Other threads' Reset/Ignore, or a once release, may also have it
      // parked and deliver into it until they finish: wait for those
      // entries too, before the caller may free it.
      stopping_.CoverEarlier(subscriber, &ids);
      removed = TakeAllLocked(subscriber, &lost);
      if (removed) UpdateNotesWantedLocked();
    }
    if (removed) {
      // The short path (issue 14, churn): when nothing is in flight, park
      // nothing and wait for nothing; parking, the wait and taking mu_ again
      // to unpark were most of a Stop's cost. runtime::Idle() looks, while
      // this thread holds mu_ and after the removal, in this order: no
      // sender counted between its `wanted` check and the end of its
      // hand-off; nothing queued; nobody holding the queue's receive role.
      // A committed signal is in one of those places, without a gap, until
      // its fan-out has returned: one handed to a receiver sleeping on the
      // queue stays queued until that receiver holds the role (SigQueue::
      // Idle says why the looks, in that order, cannot miss it between).
      // A signal the handler committed to before the removal is then in
      // none of those places, and its only way into a subscriber is a
      // fan-out, which takes mu_: it was fanned out before this thread took
      // mu_, to this subscriber too. A signal whose sender counts itself
      // after that look arrived after the removal: its fan-out does not
      // find the subscriber, or, if the subscriber was the signal's last,
      // the sender finds it unwanted (runtime::Disable above, before the
      // look, seq_cst on both sides) and the restored disposition takes it:
      // Stop's promise either way. Another thread's entry for this
      // subscriber (ids not empty) may still deliver into it: then the
      // long path, which waits for that entry too. Each look is needed:
      // tests/os_signal/idle_stop_test holds a signal where only it shows.
      PORTSIG_TEST_HOOK(stop_removed, 0);
      idle = ids.empty() && runtime::Idle();
      if (!idle) ParkLocked(subscriber, std::move(lost), &ids);
    }
  }
  if (idle) {
    // Where it would wait: tests stand a pause in for the wait here as in
    // the parked case. Nothing is left to do, so cancellation is held off
    // here only if an earlier step needed it (the last subscriber's
    // restore): a cancellation point stood in here may act.
    PORTSIG_TEST_HOOK(stop_between_phases, 0);
    return;
  }
  if (ids.empty()) return;
  // Waits for the runtime to go idle, delivering.
  cancellation.HoldOff();
  WaitAndUnpark(ids);
}

absl::Status HandlerMap::Reset(absl::Span<const Signal> signals) {
  return Cancel(signals, Action::kReset);
}

absl::Status HandlerMap::Ignore(absl::Span<const Signal> signals) {
  for (const Signal& signal : signals) {
    if (signal.is_note()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "note \"", signal.note(), "\" cannot be ignored, only signals"));
    }
  }
  return Cancel(signals, Action::kIgnore);
}

absl::Status HandlerMap::Cancel(absl::Span<const Signal> signals,
                                Action action) {
  ScopedCancellationOff cancellation;
  for (const Signal& signal : signals) {
    if (absl::Status valid = signal.Validate(); !valid.ok()) return valid;
  }
  WaitList ids;
  absl::Status result;
  {
    HashMap<Subscriber*, Wanted> losses;
    MutexLock lock(&mu_);
    if (absl::Status ready = EnsureRuntimeLocked(); !ready.ok()) return ready;
    auto cancel_signal =
        [&](int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
      // Copy: DropSignalLocked edits the index.
      std::vector<Subscriber*> subscribers(by_signal_.Of(signo));
      const bool ignoring = action == Action::kIgnore;
      for (Subscriber* s : subscribers) {
        DropSignalLocked(s, signo, &losses[s], /*disable_when_last=*/!ignoring);
      }
      if (ignoring) return runtime::Ignore(signo);
      runtime::Reset(signo);
      return absl::OkStatus();
    };
    auto cancel_note = [&](const std::string& note)
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                             auto it = by_note_.find(note);
                             if (it == by_note_.end()) return;
                             std::vector<Subscriber*> subscribers(
                                 it->second.begin(), it->second.end());
                             for (Subscriber* s : subscribers)
                               DropNoteLocked(s, note, &losses[s]);
                           };
    absl::Status status;
    if (signals.empty()) {
      const auto& all = CatchableSignals();
      for (int s = 1; s <= platform::kMaxSignal && status.ok(); ++s) {
        if (all.test(s) || !by_signal_.Of(s).empty()) status = cancel_signal(s);
      }
      if (action == Action::kReset) {
        std::vector<Subscriber*> subscribers(all_notes_.begin(),
                                             all_notes_.end());
        for (Subscriber* s : subscribers) DropAllNotesLocked(s, &losses[s]);
        std::vector<std::string> notes;
        for (const auto& [note, unused] : by_note_) notes.push_back(note);
        for (const std::string& note : notes) cancel_note(note);
      }
    } else {
      for (const Signal& signal : signals) {
        if (!status.ok()) break;
        if (signal.is_note()) {
          cancel_note(signal.note());
        } else {
          status = cancel_signal(signal.number());
        }
      }
    }
    UpdateNotesWantedLocked();
    for (const auto& [subscriber, unused] : losses) {
      ForgetIfEmptyLocked(subscriber);
    }
    for (auto& [subscriber, lost] : losses) {
      ParkLocked(subscriber, std::move(lost), &ids);
    }
    stopping_.CoverEarlier(nullptr, &ids);
    result = status;
  }
  WaitAndUnpark(ids);
  return result;
}

void HandlerMap::DropSignalLocked(Subscriber* subscriber, int signo,
                                  Wanted* parked, bool disable_when_last) {
  Wanted* wanted = FindWantedLocked(subscriber);
  if (wanted == nullptr || !wanted->signals.test(signo)) return;
  wanted->signals.reset(signo);
  const bool named = wanted->named.test(signo);
  wanted->named.reset(signo);
  parked->signals.set(signo);
  UnindexSignalLocked(subscriber, signo, named, disable_when_last);
}

void HandlerMap::NameLocked(Wanted* wanted, int signo, SignalBits* newly,
                            SignalBits* to_open) {
  if (wanted->named.test(signo)) return;
  if (named_count_[signo] == 0) to_open->set(signo);
  ++named_count_[signo];
  wanted->named.set(signo);
  newly->set(signo);
}

void HandlerMap::UnnameLocked(int signo) {
  ABSL_RAW_CHECK(named_count_[signo] > 0,
                 "portsig: unnaming an unnamed signal");
  if (--named_count_[signo] == 0) {
    HoldCancellationOffLocked();  // A round trip to the mask thread.
    runtime::CloseMask(signo);
  }
}

void HandlerMap::UnindexSignalLocked(Subscriber* subscriber, int signo,
                                     bool named, bool disable_when_last) {
  bool last_name = false;
  if (named) {
    ABSL_RAW_CHECK(named_count_[signo] > 0,
                   "portsig: unnaming an unnamed signal");
    last_name = --named_count_[signo] == 0;
  }
  by_signal_.Erase(signo, subscriber);
  once_.DropSignal(subscriber, signo);
  // Queue mode is rare: no call at all when nobody asked for it here.
  if (!queue_requests_.none(signo)) {
    HoldCancellationOffLocked();  // Sets the runtime's capacity.
    queue_requests_.Set(subscriber, signo, 0);
  }
  if (by_signal_.Of(signo).empty() && disable_when_last) {
    HoldCancellationOffLocked();
    // Blocks it on the mask thread before the disposition can be put back,
    // or with it, after the restore delay (at once in a fork handler, which
    // must make no restorer thread).
    if (in_fork_child_) {
      runtime::DisableAtOnce(signo);
    } else {
      runtime::Disable(signo);
    }
  } else if (last_name) {
    // Still relayed to subscribers of every signal, which open nothing; or
    // about to be ignored or reset, which block it there first.
    HoldCancellationOffLocked();
    runtime::CloseMask(signo);
  }
}

void HandlerMap::DropNoteLocked(Subscriber* subscriber, const std::string& note,
                                Wanted* parked) {
  Wanted* wanted = FindWantedLocked(subscriber);
  if (wanted == nullptr || !wanted->RemoveNote(note)) return;
  parked->AddNote(note);
  UnindexNoteLocked(subscriber, note);
}

void HandlerMap::UnindexNoteLocked(Subscriber* subscriber,
                                   const std::string& note) {
  once_.DropNote(subscriber, note);
  auto index = by_note_.find(note);
  // Every note in a subscriber's wanted set is indexed (Add does both under
  // mu_): a missing entry means the two disagree, and erasing through end()
  // would corrupt the map.
  if (index == by_note_.end() || index->second.erase(subscriber) == 0) {
    platform::Fatal("handler map: a subscribed note is missing from the index");
  }
  if (index->second.empty()) by_note_.erase(index);
}

void HandlerMap::DropAllNotesLocked(Subscriber* subscriber, Wanted* parked) {
  Wanted* wanted = FindWantedLocked(subscriber);
  if (wanted == nullptr || !wanted->all_notes) return;
  wanted->all_notes = false;
  parked->all_notes = true;
  once_.DropAllNotes(subscriber);
  all_notes_.erase(subscriber);
}

void HandlerMap::DropLocked(Subscriber* subscriber, const Wanted& what,
                            Wanted* parked) {
  ForEachSignal(what.signals, [&](int s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    DropSignalLocked(subscriber, s, parked);
  });
  if (what.all_notes) DropAllNotesLocked(subscriber, parked);
  if (what.notes == nullptr) return;
  for (const std::string& note : *what.notes) {
    DropNoteLocked(subscriber, note, parked);
  }
}

bool HandlerMap::TakeAllLocked(Subscriber* subscriber, Wanted* lost) {
  Wanted* wanted = FindWantedLocked(subscriber);
  if (wanted == nullptr || wanted->empty()) return false;
  *lost = std::exchange(*wanted, Wanted());
  once_.Forget(subscriber);
  ForEachSignal(lost->signals, [&](int s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    UnindexSignalLocked(subscriber, s, lost->named.test(s),
                        /*disable_when_last=*/true);
  });
  // Parked, it is a record of what to deliver, which names nothing.
  lost->named.reset();
  if (lost->all_notes) all_notes_.erase(subscriber);
  if (lost->notes != nullptr) {
    for (const std::string& note : *lost->notes) {
      UnindexNoteLocked(subscriber, note);
    }
  }
  return true;
}

void HandlerMap::SetNotesWantedLocked(bool wanted) {
  // Changes the queue's note slot, may wake the dispatcher.
  HoldCancellationOffLocked();
  notes_enabled_ = wanted;
  if (wanted) {
    // Fails only without a dispatcher, which Add (the one caller that adds
    // notes) has started before: then nothing is enabled, and says so.
    if (!runtime::EnableNotes().ok()) notes_enabled_ = false;
  } else {
    runtime::DisableNotes();
  }
}

void HandlerMap::RecordStackOwnerLocked(Subscriber* subscriber) {
  if (!subscriber->stack_owner_.has_value() &&
      platform::OnThisThreadsStack(subscriber->Home())) {
    subscriber->stack_owner_ = pthread_self();
  }
}

Wanted& HandlerMap::WantedLocked(Subscriber* subscriber) {
  if (subscriber->wanted_ == nullptr) subscriber->wanted_.reset(new Wanted());
  return *subscriber->wanted_;
}

Wanted* HandlerMap::FindWantedLocked(Subscriber* subscriber) {
  return subscriber->wanted_.get();
}

void HandlerMap::ForgetIfEmptyLocked(Subscriber* subscriber) {
  const Wanted* wanted = FindWantedLocked(subscriber);
  if (wanted == nullptr || wanted->empty()) once_.Forget(subscriber);
}

void HandlerMap::WaitAndUnpark(const WaitList& ids) {
  if (ids.empty()) return;
  StoppingList::AwaitDeliveriesInFlight();
  MutexLock lock(&mu_);
  stopping_.Unpark(ids);
}

void HandlerMap::FinishOnceRelease(const WaitList& ids) {
  Get().WaitAndUnpark(ids);
}

bool HandlerMap::WantsNote(absl::string_view note) {
  MutexLock lock(&mu_);
  return !all_notes_.empty() || by_note_.contains(note);
}

template <typename F>
void HandlerMap::ForEachCurrentLocked(const runtime::ReceivedSignal& received,
                                      F f) {
  if (received.signo != 0) {
    for (Subscriber* s : by_signal_.Of(received.signo)) f(s);
    return;
  }
  for (Subscriber* s : all_notes_) f(s);
  auto it = by_note_.find(received.note);
  if (it == by_note_.end()) return;
  for (Subscriber* s : it->second) {
    if (!all_notes_.contains(s)) f(s);
  }
}

void HandlerMap::Deliver(const runtime::ReceivedSignal& received) {
  const Delivery delivery = ToDelivery(received);
  // Groups whose first member this signal makes ready are told when the
  // fan-out is over (and the map's lock released), once each.
  FanOutBatch group_batch;
  MutexLock lock(&mu_);
  Released released;
  if (once_.empty()) {
    ForEachCurrentLocked(received,
                         [&](Subscriber* s) { s->Deliver(delivery, nullptr); });
  } else {
    // A release edits the indexes: walk a copy of them.
    absl::InlinedVector<Subscriber*, 8> current;
    ForEachCurrentLocked(received,
                         [&](Subscriber* s) { current.push_back(s); });
    // Run by the subscriber's Deliver on this thread, which holds mu_
    // across the whole fan-out; the analysis cannot follow that through
    // the virtual call.
    auto release_locked = [&](Subscriber* s, Wanted* lost)
                              ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                ReleaseOnceLocked(s, received, lost);
                              };
    OnceRelease release(release_locked, &released);
    for (Subscriber* s : current) {
      // Once means the first occurrence the subscriber took: a full channel
      // that dropped this one keeps waiting for the next, and runs no
      // release.
      if (!once_.Releases(s, received)) {
        s->Deliver(delivery, nullptr);
        continue;
      }
      release.set_subscriber(s);
      s->Deliver(delivery, &release);
    }
  }
  PORTSIG_TEST_HOOK(after_fan_out, received.signo);
  // One released just now got it above.
  StoppingList::Delivered parked_delivered;
  for (const auto& [subscriber, unused] : released) {
    parked_delivered.push_back(subscriber);
  }
  stopping_.DeliverToParked(
      received, delivery,
      [&](Subscriber* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        const Wanted* current = FindWantedLocked(s);
        return current != nullptr && current->Wants(received);
      },
      &parked_delivered);
  if (!released.empty()) {
    FinishOnceReleases(&released, &stopping_, &HandlerMap::FinishOnceRelease);
  }
}

}  // namespace os_signal_internal
}  // namespace portsig

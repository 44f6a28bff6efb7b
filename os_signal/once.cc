#include "os_signal/once.h"

#include <utility>

#include "platform/quiet_thread.h"

namespace portsig {
namespace os_signal_internal {

void OnceSubscriptions::SetSlow(Subscriber* subscriber,
                                absl::Span<const Signal> signals, bool once,
                                bool releases_all) {
  if (once && releases_all) releases_all_.insert(subscriber);
  if (!once && (once_.empty() || !once_.contains(subscriber))) return;
  Wanted& relayed_once = once_[subscriber];
  auto mark_signal = [&](int signo) { relayed_once.signals.set(signo, once); };
  if (signals.empty()) {
    const auto& all = CatchableSignals();
    for (int s = 1; s <= platform::kMaxSignal; ++s) {
      if (all.test(s)) mark_signal(s);
    }
    relayed_once.all_notes = once;
  }
  for (const Signal& signal : signals) {
    if (!signal.is_note()) {
      mark_signal(signal.number());
    } else if (once) {
      relayed_once.AddNote(signal.note());
    } else {
      relayed_once.RemoveNote(signal.note());
    }
  }
  if (relayed_once.empty()) once_.erase(subscriber);
}

bool OnceSubscriptions::Releases(
    Subscriber* subscriber, const runtime::ReceivedSignal& received) const {
  auto once = once_.find(subscriber);
  return once != once_.end() && once->second.Wants(received);
}

OnceSubscriptions::Ends OnceSubscriptions::WhatEnds(
    Subscriber* subscriber, const runtime::ReceivedSignal& received) const {
  if (releases_all_.contains(subscriber)) return Ends::kEverything;
  if (received.signo != 0) return Ends::kSignal;
  auto once = once_.find(subscriber);
  if (once != once_.end() && once->second.all_notes) return Ends::kAllNotes;
  return Ends::kNote;
}

// An entry left empty is erased: it would release nothing, and while any
// entry exists, empty() is false, which keeps the handler map's fast paths
// and its once-free fan-out off for every channel until this one's Stop.
void OnceSubscriptions::DropSignalSlow(Subscriber* subscriber, int signo) {
  if (auto once = once_.find(subscriber); once != once_.end()) {
    once->second.signals.reset(signo);
    if (once->second.empty()) once_.erase(once);
  }
}

void OnceSubscriptions::DropNote(Subscriber* subscriber,
                                 const std::string& note) {
  if (once_.empty()) return;
  if (auto once = once_.find(subscriber); once != once_.end()) {
    once->second.RemoveNote(note);
    if (once->second.empty()) once_.erase(once);
  }
}

void OnceSubscriptions::DropAllNotes(Subscriber* subscriber) {
  if (once_.empty()) return;
  if (auto once = once_.find(subscriber); once != once_.end()) {
    once->second.all_notes = false;
    if (once->second.empty()) once_.erase(once);
  }
}

void OnceSubscriptions::ForgetSlow(Subscriber* subscriber) {
  // Empty unless someone asked for once: no lookup then.
  if (!once_.empty()) once_.erase(subscriber);
  if (!releases_all_.empty()) releases_all_.erase(subscriber);
}

void FinishOnceReleases(
    Released* released, StoppingList* stopping,
    void (*wait_and_unpark)(const StoppingList::WaitList&)) {
  StoppingList::WaitList ids;
  for (auto& [subscriber, lost] : *released) {
    stopping->Park(subscriber, std::move(lost), &ids);
  }
  stopping->CoverEarlier(nullptr, &ids);
  // Stop's second half takes the queue's receive role, which this thread
  // holds while it delivers: hand it to a thread of its own. Without one,
  // the next Stop, Reset or Ignore finishes these too.
  if (!platform::StartQuietThread("portsig-once", [ids, wait_and_unpark] {
         wait_and_unpark(ids);
       }).ok()) {
    stopping->AddUnfinished(ids);
  }
}

}  // namespace os_signal_internal
}  // namespace portsig

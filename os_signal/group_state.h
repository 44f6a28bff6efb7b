// Internal: the state a ChannelGroup shares with its members (see
// channel_group.h). The ready list is intrusive: its links (GroupLink)
// live in the members' state (ChannelState, channel.cc) and are guarded by
// this state's lock.
//
// Lock order: a member's lock, then this lock. The last reference to a
// GroupState is never dropped under a member's lock: its ForkHeldMutex
// takes the fork list's lock as it goes. A member calls MarkReady,
// MarkEmpty, Join, Leave and closed() holding its own lock; Ready, ReadyFd,
// Close, members() and FlushHeldBack take only this lock. Deliveries (on the
// dispatcher or another thread with the queue's receive role) therefore never
// wait for anything but this short lock, and the loop's ReadyChannels never
// waits for a member.
//
// The descriptor is readable exactly while the list is non-empty, but for
// one hold-back (FanOutBatch): written only when the list goes from empty
// to non-empty, cleared only when it goes back to empty, both under this
// lock, so that the decision and the system call cannot be separated by
// another member's change; a lost readiness edge would need them to be.
//
// FanOutBatch: while one signal fans out to many subscribers (the handler
// map's Deliver), a group's first ready member does not write the
// descriptor at once; the batch writes it when the fan-out ends, if the
// list is still non-empty and nothing wrote it meanwhile. The loop then
// wakes once every member has its signal, instead of waking at the first
// and contending with the rest of the fan-out for the members' locks and
// this one. A loop that looks without being woken (ReadyChannels) sees
// the members as they become ready.
#ifndef PORTSIG_OS_SIGNAL_GROUP_STATE_H_
#define PORTSIG_OS_SIGNAL_GROUP_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "platform/readiness_fd.h"
#include "platform/sync.h"

namespace portsig {
class SignalChannel;
namespace os_signal_internal {

// A member's place in its group's ready list. Guarded by the group's lock
// (which the analysis cannot name from the member).
struct GroupLink {
  // The member, what ReadyChannels returns.
  SignalChannel* channel = nullptr;
  GroupLink* prev = nullptr;
  GroupLink* next = nullptr;
  bool listed = false;
};

class GroupState : public std::enable_shared_from_this<GroupState> {
 public:
  GroupState() = default;
  GroupState(const GroupState&) = delete;
  GroupState& operator=(const GroupState&) = delete;

  // With the member's lock held. `ready`: its buffer holds a signal.
  void Join(GroupLink* member, bool ready);
  void Leave(GroupLink* member);
  // The member's buffer went from empty to holding a signal, or back.
  void MarkReady(GroupLink* member);
  void MarkEmpty(GroupLink* member);
  // Whether the group was destroyed: a member pointing here is in no group.
  bool closed() const;

  // Without a member's lock.
  size_t Ready(absl::Span<SignalChannel*> out);
  // The descriptor, made on first use and again in a forked child; -1 with
  // errno set if it cannot be made.
  int ReadyFd();
  // The group is gone: unlists every member, closes the descriptor.
  void Close();
  size_t members() const;
  // Writes the descriptor a FanOutBatch held back, if still due.
  void FlushHeldBack();

 private:
  void LinkLocked(GroupLink* member) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnlinkLocked(GroupLink* member) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Links a member that became ready; writes the descriptor if it is the
  // first.
  void AddReadyLocked(GroupLink* member) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Unlinks a member if listed; clears the descriptor if it was the last.
  void RemoveReadyLocked(GroupLink* member) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // If this process forked since the descriptor was made, makes a fresh
  // one, readable if the list is non-empty (the inherited one is the
  // parent's too), and returns true. The caller then has nothing to
  // write or clear.
  bool RenewedAfterForkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Held across fork() while in use, like a channel's lock, after it (see
  // sync.h), so a child never copies it held by a thread it does not have
  // (a loop in ReadyChannels), which its dispatcher would then wait for.
  mutable ForkHeldMutex mu_{ForkHeldMutex::Order::kInner};
  GroupLink* head_ ABSL_GUARDED_BY(mu_) = nullptr;
  GroupLink* tail_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t ready_count_ ABSL_GUARDED_BY(mu_) = 0;
  size_t members_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  platform::ReadinessFd fd_ ABSL_GUARDED_BY(mu_);
  // fd_ was written and not cleared since: it polls readable.
  bool fd_set_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t fd_generation_ ABSL_GUARDED_BY(mu_) = 0;
};

// On the stack of a thread fanning one signal out (see above). Nests: an
// inner batch hands what it held back to the outer one.
class FanOutBatch {
 public:
  FanOutBatch();
  ~FanOutBatch();
  FanOutBatch(const FanOutBatch&) = delete;
  FanOutBatch& operator=(const FanOutBatch&) = delete;

  // If this thread is in a batch, takes `group` (whose lock the caller
  // holds) to write later and returns true.
  static bool HoldBack(GroupState* group);

 private:
  FanOutBatch* const outer_;
  absl::InlinedVector<std::shared_ptr<GroupState>, 2> held_;
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_GROUP_STATE_H_

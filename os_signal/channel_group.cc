#include "os_signal/channel_group.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "os_signal/group_state.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"
#include "runtime/runtime.h"

namespace portsig {
namespace os_signal_internal {

void GroupState::LinkLocked(GroupLink* member) {
  member->prev = tail_;
  member->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = member;
  } else {
    head_ = member;
  }
  tail_ = member;
  member->listed = true;
  ++ready_count_;
}

void GroupState::UnlinkLocked(GroupLink* member) {
  if (member->prev != nullptr) {
    member->prev->next = member->next;
  } else {
    head_ = member->next;
  }
  if (member->next != nullptr) {
    member->next->prev = member->prev;
  } else {
    tail_ = member->prev;
  }
  member->prev = member->next = nullptr;
  member->listed = false;
  --ready_count_;
}

namespace {
thread_local FanOutBatch* current_batch = nullptr;
}  // namespace

FanOutBatch::FanOutBatch() : outer_(current_batch) { current_batch = this; }

FanOutBatch::~FanOutBatch() {
  current_batch = outer_;
  for (std::shared_ptr<GroupState>& group : held_) {
    if (outer_ != nullptr) {
      outer_->held_.push_back(std::move(group));
    } else {
      group->FlushHeldBack();
    }
  }
}

bool FanOutBatch::HoldBack(GroupState* group) {
  if (current_batch == nullptr) return false;
  current_batch->held_.push_back(group->shared_from_this());
  return true;
}

int GroupState::OpenLocked() {
  const int fd = fd_.Open();
  fd_generation_ = runtime::ForkGeneration();
  fd_set_ = false;
  if (fd >= 0 && head_ != nullptr) SetLocked();
  return fd;
}

void GroupState::SetLocked() {
  PORTSIG_TEST_HOOK(group_fd_set, 0);
  fd_.Set();
  fd_set_ = true;
}

void GroupState::ClearLocked() {
  fd_.Clear();
  fd_set_ = false;
}

void GroupState::FlushHeldBack() {
  MutexLock lock(&mu_);
  if (closed_ || head_ == nullptr || fd_.fd() < 0) return;
  if (RenewedAfterForkLocked() || fd_set_) return;
  SetLocked();
}

bool GroupState::RenewedAfterForkLocked() {
  if (fd_.fd() < 0 || runtime::ForkGeneration() == fd_generation_) {
    return false;
  }
  // Open closes this process's copy and leaves the parent's alone. If it
  // fails the group has no descriptor until ReadyFd makes one (and says
  // why); the list goes on.
  (void)OpenLocked();
  return true;
}

void GroupState::AddReadyLocked(GroupLink* member) {
  if (closed_ || member->listed) return;
  const bool first = head_ == nullptr;
  LinkLocked(member);
  if (RenewedAfterForkLocked()) return;
  if (!first || fd_.fd() < 0) return;
  if (FanOutBatch::HoldBack(this)) return;
  SetLocked();
}

void GroupState::RemoveReadyLocked(GroupLink* member) {
  if (!member->listed) return;
  UnlinkLocked(member);
  if (RenewedAfterForkLocked()) return;
  // Only the last ready member clears: one that became ready after the
  // descriptor was written (and so did not write it) is still listed.
  if (head_ == nullptr && fd_set_) ClearLocked();
}

void GroupState::Join(GroupLink* member, bool ready) {
  MutexLock lock(&mu_);
  ++members_;
  if (ready) AddReadyLocked(member);
}

void GroupState::Leave(GroupLink* member) {
  MutexLock lock(&mu_);
  if (closed_) return;  // Close unlisted it and forgot every member.
  RemoveReadyLocked(member);
  --members_;
}

void GroupState::MarkReady(GroupLink* member) {
  MutexLock lock(&mu_);
  AddReadyLocked(member);
}

void GroupState::MarkEmpty(GroupLink* member) {
  MutexLock lock(&mu_);
  RemoveReadyLocked(member);
}

bool GroupState::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

size_t GroupState::Ready(absl::Span<SignalChannel*> out) {
  MutexLock lock(&mu_);
  PORTSIG_TEST_HOOK(inside_fork_held_lock, 4);
  const size_t n = std::min(out.size(), ready_count_);
  if (n == 0) return 0;
  GroupLink* last = head_;
  out[0] = last->channel;
  for (size_t i = 1; i < n; ++i) {
    last = last->next;
    out[i] = last->channel;
  }
  if (n < ready_count_) {
    // Those returned go behind the rest, in one splice, so that the next
    // call starts with members not returned yet. The descriptor does not
    // change: the list stays as long.
    GroupLink* first = head_;
    head_ = last->next;
    head_->prev = nullptr;
    tail_->next = first;
    first->prev = tail_;
    last->next = nullptr;
    tail_ = last;
  }
  return n;
}

int GroupState::ReadyFd() {
  MutexLock lock(&mu_);
  // None yet, one a failed renewal after fork left closed, or the
  // parent's.
  if (fd_.fd() < 0 || runtime::ForkGeneration() != fd_generation_) {
    return OpenLocked();
  }
  return fd_.fd();
}

void GroupState::Close() {
  MutexLock lock(&mu_);
  while (head_ != nullptr) UnlinkLocked(head_);
  members_ = 0;
  closed_ = true;
  fd_.Close();
  fd_set_ = false;
}

size_t GroupState::members() const {
  MutexLock lock(&mu_);
  return members_;
}

}  // namespace os_signal_internal

ChannelGroup::ChannelGroup()
    : state_(std::make_shared<os_signal_internal::GroupState>()) {}

ChannelGroup::~ChannelGroup() {
  ScopedCancellationOff cancellation;
  state_->Close();
}

absl::Status ChannelGroup::Add(SignalChannel* channel) {
  if (channel == nullptr) {
    return absl::InvalidArgumentError("ChannelGroup::Add: null channel");
  }
  if (channel->capacity() == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ChannelGroup::Add: SignalChannel %p is unbuffered (capacity 0): it "
        "never holds a signal, so it would never be ready",
        channel));
  }
  ScopedCancellationOff cancellation;
  return channel->JoinGroup(state_);
}

absl::Status ChannelGroup::Remove(SignalChannel* channel) {
  if (channel == nullptr) {
    return absl::InvalidArgumentError("ChannelGroup::Remove: null channel");
  }
  ScopedCancellationOff cancellation;
  return channel->LeaveGroup(state_.get());
}

absl::StatusOr<int> ChannelGroup::ReadyFd() {
  ScopedCancellationOff cancellation;
  // The descriptor turns readable only when a signal is delivered, which
  // without a dispatcher nobody would do while the host polls it.
  if (absl::Status started = runtime::EnsureDispatcher(); !started.ok()) {
    return started;
  }
  const int fd = state_->ReadyFd();
  if (fd < 0) return absl::ErrnoToStatus(errno, "ChannelGroup::ReadyFd");
  return fd;
}

size_t ChannelGroup::ReadyChannels(absl::Span<SignalChannel*> out) {
  ScopedCancellationOff cancellation;
  return state_->Ready(out);
}

size_t ChannelGroup::size() const { return state_->members(); }

}  // namespace portsig

// ChannelGroup: one readiness descriptor for many SignalChannels.
//
// An event loop that consumes many channels registers one descriptor
// instead of one per channel, and learns which channels hold a signal
// without trying each:
//
//   portsig::ChannelGroup group;
//   for (SignalChannel* ch : channels) CHECK_OK(group.Add(ch));
//   int fd = *group.ReadyFd();            // in epoll/poll/libuv/Asio
//   // when fd polls readable:
//   SignalChannel* ready[64];
//   while (size_t n = group.ReadyChannels(absl::MakeSpan(ready))) {
//     for (size_t i = 0; i < n; ++i) {
//       while (auto sig = ready[i]->TryReceive()) Handle(ready[i], *sig);
//     }
//   }
//
// It is what epoll is to descriptors, for channels: level-triggered.
// - A member is ready while its buffer holds a signal (what its own
//   ReadyFd() reports): from the delivery that fills an empty buffer until
//   the receive that empties it. Signals handed straight to a receiver
//   blocked in Receive never make it ready, so an unbuffered channel
//   (capacity 0) never is, and Add refuses one.
// - ReadyFd() polls readable while some member is ready, and turns
//   unreadable when the last ready member is drained. A signal fanned out
//   to a thousand members writes it once, when the fan-out is over: the
//   loop wakes once, with every member ready (ReadyChannels, which needs
//   no wake-up, sees each as it becomes ready). A member that becomes
//   ready while the loop drains others keeps it readable: no readiness is
//   lost between ReadyChannels, TryReceive and the next poll.
// - ReadyChannels(out) copies up to out.size() ready members into out, the
//   longest ready first, and returns how many. It does not drain them: a
//   member stays ready, and is returned again, until its buffer is empty.
//   Members it returned move behind the others, so a loop that leaves some
//   undrained, or passes a short span, still reaches every ready member.
//
// Membership: a channel is in at most one group. Add and Remove change
// nothing and return a Status naming the channel on bad input: a null or
// unbuffered channel (InvalidArgument), one already in a group
// (AlreadyExists), removing one that is not in this group (NotFound). A
// channel that is destroyed leaves its group; a group that is destroyed
// lets go of its members (each can then join another). Membership is
// independent of Notify/Stop: a stopped member just receives nothing.
//
// The descriptor is made on the first ReadyFd() call and owned by the group
// (do not close it). Like SignalChannel::ReadyFd it is an eventfd on the
// Linux platform layer and a pipe on the generic POSIX one
// (--//platform:os), non-blocking and close-on-exec. After
// fork() the child's group makes a descriptor of its own at its first use,
// so nothing the child does changes what the parent's polls, and the other
// way round; the child's members keep what they held.
//
// Thread safety: distinct groups are independent. On one group, Add,
// Remove, ReadyFd, ReadyChannels and size() may be called concurrently from
// any threads, concurrently with deliveries and with any call on the
// members (TryReceive, Receive, Notify, Stop, a member's destruction).
// Destroying the group must not race with another call on that group.
// ReadyChannels returns plain pointers: if another thread may destroy a
// member, it is that thread's business to keep the loop from using the
// pointer afterwards (as with epoll's data.ptr). Never call these from a
// signal handler. No exception crosses these calls.
#ifndef PORTSIG_OS_SIGNAL_CHANNEL_GROUP_H_
#define PORTSIG_OS_SIGNAL_CHANNEL_GROUP_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "os_signal/channel.h"

namespace portsig {
namespace os_signal_internal {
class GroupState;
}  // namespace os_signal_internal

class ChannelGroup {
 public:
  ChannelGroup();
  // Members leave; the descriptor is closed.
  ~ChannelGroup();
  ChannelGroup(const ChannelGroup&) = delete;
  ChannelGroup& operator=(const ChannelGroup&) = delete;

  // Makes `channel` a member; ready at once if it holds a signal.
  absl::Status Add(SignalChannel* channel);
  // Takes `channel` out of this group.
  absl::Status Remove(SignalChannel* channel);

  // A descriptor that polls readable while any member holds a signal.
  // Starts portsig's dispatcher if it is not running (nothing would make
  // the descriptor readable otherwise): ResourceExhausted if it cannot.
  absl::StatusOr<int> ReadyFd();

  // Fills `out` with ready members (see above); returns how many.
  size_t ReadyChannels(absl::Span<SignalChannel*> out);

  // Members right now.
  size_t size() const;

 private:
  // Shared with the members, which reach it under their own lock; it
  // outlives the group while a member still points at it.
  const std::shared_ptr<os_signal_internal::GroupState> state_;
};

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_CHANNEL_GROUP_H_

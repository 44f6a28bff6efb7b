// ChannelGroup (os_signal/channel_group.h): one readiness descriptor for
// many channels. Built once per backend (PORTSIG_SIGQUEUE=posix|note) and,
// like every test, on both platform layers (eventfd and pipe). Every test
// that raises a signal does so in a forked child (RunInChild).
#include "os_signal/channel_group.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/readable.h"

namespace portsig {
namespace {

using ::portsig::testing::RaiseAndDispatch;
using ::portsig::testing::Readable;
using ::portsig::testing::RunInChild;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

std::vector<SignalChannel*> Ready(ChannelGroup& group, size_t at_most = 1024) {
  std::vector<SignalChannel*> out(at_most);
  out.resize(group.ReadyChannels(absl::MakeSpan(out)));
  return out;
}

std::string Address(const void* p) { return absl::StrFormat("%p", p); }

// Counts the group writing its descriptor (test_hooks::group_fd_set).
std::atomic<int> g_fd_sets{0};
void CountFdSet(int) { g_fd_sets.fetch_add(1); }

// With g_watched set: how many of those channels had had a delivery in
// this round (g_round) when the group last wrote its descriptor.
std::vector<SignalChannel*>* g_watched = nullptr;
std::atomic<int> g_round{0};
std::atomic<int> g_delivered_at_write{-1};
void CountFdSetAndDelivered(int) {
  CountFdSet(0);
  int delivered = 0;
  for (SignalChannel* ch : *g_watched) {
    // delivered() is an atomic counter: no lock, whatever the hook holds.
    if (ch->delivered() >= static_cast<uint64_t>(g_round.load())) ++delivered;
  }
  g_delivered_at_write.store(delivered);
}

struct Members {
  std::vector<std::unique_ptr<SignalChannel>> channels;
  std::vector<SignalChannel*> pointers;
};

// n channels of `capacity`, notified for `signals`, each added to `group`.
Members Join(ChannelGroup& group, int n, std::initializer_list<Signal> signals,
             size_t capacity = 1) {
  Members m;
  for (int i = 0; i < n; ++i) {
    m.channels.push_back(std::make_unique<SignalChannel>(capacity));
    m.pointers.push_back(m.channels.back().get());
    EXPECT_TRUE(Notify(*m.channels.back(), signals).ok());
    EXPECT_TRUE(group.Add(m.channels.back().get()).ok());
  }
  return m;
}

TEST(ChannelGroupTest, BadInputIsNamedAndChangesNothing) {
  ChannelGroup group, other;
  SignalChannel a(1), b(1), unbuffered(0);
  ASSERT_TRUE(group.Add(&a).ok());

  absl::Status s = group.Add(nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("null channel"));

  s = group.Add(&unbuffered);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(Address(&unbuffered)));
  EXPECT_THAT(std::string(s.message()), HasSubstr("unbuffered"));

  s = group.Add(&a);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(s.message()), HasSubstr(Address(&a)));
  EXPECT_THAT(std::string(s.message()), HasSubstr("this group"));

  s = other.Add(&a);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(s.message()), HasSubstr(Address(&a)));
  EXPECT_THAT(std::string(s.message()), HasSubstr("another ChannelGroup"));

  s = group.Remove(&b);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr(Address(&b)));

  s = other.Remove(&a);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  s = group.Remove(nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("null channel"));

  // Nothing changed: a is still in group, and only there.
  EXPECT_EQ(group.size(), 1u);
  EXPECT_EQ(other.size(), 0u);
  EXPECT_TRUE(group.Remove(&a).ok());
  EXPECT_EQ(group.size(), 0u);
  EXPECT_TRUE(other.Add(&a).ok());
  EXPECT_TRUE(other.Remove(&a).ok());
}

// One signal to N members: every member is ready, the descriptor was
// written once, after the whole fan-out (so the loop wakes once, to find
// every member ready), and it stays readable until the last member is
// drained.
TEST(ChannelGroupTest, FanOutToManyMembersWritesTheDescriptorOnce) {
  auto status = RunInChild([] {
    constexpr int kMembers = 64;
    ChannelGroup group;
    Members m = Join(group, kMembers, {SIGUSR1});
    EXPECT_EQ(group.size(), static_cast<size_t>(kMembers));
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok()) << fd.status();
    EXPECT_EQ(*group.ReadyFd(), *fd);  // Made once.
    EXPECT_FALSE(Readable(*fd));
    EXPECT_TRUE(Ready(group).empty());
    g_watched = &m.pointers;
    test_hooks::group_fd_set.store(&CountFdSetAndDelivered);
    for (int round = 1; round <= 2; ++round) {
      g_round.store(round);
      RaiseAndDispatch(SIGUSR1);
      EXPECT_TRUE(Readable(*fd));
      EXPECT_EQ(g_fd_sets.load(), round) << "written once per fan-out";
      EXPECT_EQ(g_delivered_at_write.load(), kMembers)
          << "written before the fan-out was over";
      std::vector<SignalChannel*> ready = Ready(group);
      EXPECT_THAT(ready, UnorderedElementsAreArray(m.pointers));
      for (size_t i = 0; i < ready.size(); ++i) {
        EXPECT_EQ(ready[i]->TryReceive(), Signal(SIGUSR1));
        EXPECT_EQ(Readable(*fd), i + 1 < ready.size()) << i;
      }
      EXPECT_TRUE(Ready(group).empty());
    }
    test_hooks::group_fd_set.store(nullptr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A span shorter than the ready list: successive calls without draining
// return every ready member before any comes back.
TEST(ChannelGroupTest, ShortSpansReachEveryReadyMember) {
  auto status = RunInChild([] {
    constexpr int kMembers = 25;
    ChannelGroup group;
    Members m = Join(group, kMembers, {SIGUSR1});
    RaiseAndDispatch(SIGUSR1);
    std::set<SignalChannel*> seen;
    // 10 new, 10 new, then the last 5 and the first 5 again.
    for (int call = 0; call < 3; ++call) {
      std::vector<SignalChannel*> ready = Ready(group, 10);
      EXPECT_EQ(ready.size(), 10u);
      for (SignalChannel* ch : ready) {
        EXPECT_TRUE(seen.insert(ch).second || seen.size() == kMembers)
            << "returned again before every member was";
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(kMembers));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Readiness follows each member's buffer: a member drained in part stays
// ready, and the descriptor stays readable while any member holds a signal.
TEST(ChannelGroupTest, ReadinessAfterPartialDrain) {
  auto status = RunInChild([] {
    ChannelGroup group;
    SignalChannel a(2), b(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1, SIGUSR2}).ok());
    ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
    ASSERT_TRUE(group.Add(&a).ok());
    ASSERT_TRUE(group.Add(&b).ok());
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    RaiseAndDispatch(SIGUSR1);
    RaiseAndDispatch(SIGUSR2);
    EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&a, &b}));
    EXPECT_EQ(b.TryReceive(), Signal(SIGUSR1));
    EXPECT_TRUE(Readable(*fd));
    EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&a}));
    EXPECT_EQ(a.TryReceive(), Signal(SIGUSR1));
    EXPECT_TRUE(Readable(*fd)) << "a still holds SIGUSR2";
    EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&a}));
    EXPECT_EQ(a.TryReceive(), Signal(SIGUSR2));
    EXPECT_FALSE(Readable(*fd));
    EXPECT_TRUE(Ready(group).empty());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A channel that already holds a signal is ready as it joins, and a
// descriptor made while members are ready is readable at once.
TEST(ChannelGroupTest, JoiningWhileHoldingASignalIsReady) {
  auto status = RunInChild([] {
    SignalChannel a(1), b(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
    RaiseAndDispatch(SIGUSR1);
    ChannelGroup group;
    ASSERT_TRUE(group.Add(&a).ok());
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    EXPECT_TRUE(Readable(*fd));
    ASSERT_TRUE(group.Add(&b).ok());
    EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&a, &b}));
    EXPECT_EQ(a.TryReceive(), Signal(SIGUSR1));
    EXPECT_EQ(b.TryReceive(), Signal(SIGUSR1));
    EXPECT_FALSE(Readable(*fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Remove takes a ready member out of the list (and the descriptor's
// readiness with it when it was the last); its signal stays in it.
TEST(ChannelGroupTest, RemoveWhileReady) {
  auto status = RunInChild([] {
    ChannelGroup group;
    Members m = Join(group, 2, {SIGUSR1});
    SignalChannel* a = m.pointers[0];
    SignalChannel* b = m.pointers[1];
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    RaiseAndDispatch(SIGUSR1);
    ASSERT_TRUE(group.Remove(a).ok());
    EXPECT_TRUE(Readable(*fd));
    EXPECT_THAT(Ready(group), UnorderedElementsAreArray({b}));
    ASSERT_TRUE(group.Remove(b).ok());
    EXPECT_FALSE(Readable(*fd));
    EXPECT_TRUE(Ready(group).empty());
    EXPECT_EQ(group.size(), 0u);
    EXPECT_EQ(a->TryReceive(), Signal(SIGUSR1));
    EXPECT_EQ(b->TryReceive(), Signal(SIGUSR1));
    // Out of the group, a signal no longer touches it.
    RaiseAndDispatch(SIGUSR1);
    EXPECT_FALSE(Readable(*fd));
    // Back in, holding a signal: ready again.
    ASSERT_TRUE(group.Add(a).ok());
    EXPECT_TRUE(Readable(*fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A member destroyed while ready leaves: no dangling pointer in the list
// (ASan would see one), and the descriptor follows.
TEST(ChannelGroupTest, DestroyedWhileReadyLeaves) {
  auto status = RunInChild([] {
    ChannelGroup group;
    Members m = Join(group, 3, {SIGUSR1});
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    RaiseAndDispatch(SIGUSR1);
    m.channels[1].reset();
    EXPECT_EQ(group.size(), 2u);
    EXPECT_THAT(Ready(group),
                UnorderedElementsAreArray({m.pointers[0], m.pointers[2]}));
    m.channels[0].reset();
    m.channels[2].reset();
    EXPECT_EQ(group.size(), 0u);
    EXPECT_FALSE(Readable(*fd));
    EXPECT_TRUE(Ready(group).empty());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A group destroyed before its members lets them go: each can join another
// group, and later deliveries and destruction touch nothing freed.
TEST(ChannelGroupTest, GroupDestroyedFirstLetsMembersGo) {
  auto status = RunInChild([] {
    SignalChannel a(1), b(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
    {
      ChannelGroup group;
      ASSERT_TRUE(group.Add(&a).ok());
      ASSERT_TRUE(group.Add(&b).ok());
      ASSERT_TRUE(group.ReadyFd().ok());
      RaiseAndDispatch(SIGUSR1);
    }
    EXPECT_EQ(a.TryReceive(), Signal(SIGUSR1));
    RaiseAndDispatch(SIGUSR1);  // Into a, b, of a group that is gone.
    ChannelGroup next;
    ASSERT_TRUE(next.Add(&a).ok());
    ASSERT_TRUE(next.Add(&b).ok());
    absl::StatusOr<int> fd = next.ReadyFd();
    ASSERT_TRUE(fd.ok());
    EXPECT_TRUE(Readable(*fd));
    EXPECT_THAT(Ready(next), UnorderedElementsAreArray({&a, &b}));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The race a coalescing descriptor invites: member b becomes ready while
// the loop is draining member a, after a's buffer emptied and before the
// group heard of it. b's readiness is coalesced into a's write (the group
// was not empty, so nothing is written for b), and a's leaving must not
// clear the descriptor b now depends on. The hook forces that order.
SignalChannel* g_b = nullptr;
std::atomic<int> g_drained_hooks{0};
void DeliverToBWhileADrains(int) {
  if (g_drained_hooks.fetch_add(1) != 0) return;
  raise(SIGUSR2);  // Only b wants it; the dispatcher delivers it.
  // size() takes b's lock, which Deliver holds while it lists b in the
  // group: once it says 1, b is listed. RunInChild's alarm bounds this.
  while (g_b->size() != 1) sched_yield();
}

TEST(ChannelGroupRaceTest, MemberReadyWhileAnotherDrainsKeepsTheDescriptor) {
  auto status = RunInChild([] {
    ChannelGroup group;
    SignalChannel a(1), b(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    ASSERT_TRUE(Notify(b, {SIGUSR2}).ok());
    ASSERT_TRUE(group.Add(&a).ok());
    ASSERT_TRUE(group.Add(&b).ok());
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    test_hooks::group_fd_set.store(&CountFdSet);
    RaiseAndDispatch(SIGUSR1);
    ASSERT_TRUE(Readable(*fd));
    ASSERT_THAT(Ready(group), UnorderedElementsAreArray({&a}));
    g_b = &b;
    test_hooks::group_member_drained.store(&DeliverToBWhileADrains);
    EXPECT_EQ(a.TryReceive(), Signal(SIGUSR1));
    test_hooks::group_member_drained.store(nullptr);
    ASSERT_EQ(g_drained_hooks.load(), 1);
    EXPECT_EQ(g_fd_sets.load(), 1) << "b's readiness was coalesced";
    EXPECT_TRUE(Readable(*fd)) << "b holds a signal but the loop would sleep";
    EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&b}));
    EXPECT_EQ(b.TryReceive(), Signal(SIGUSR2));
    EXPECT_FALSE(Readable(*fd));
    test_hooks::group_fd_set.store(nullptr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A forked child's group has its own descriptor: draining in the child does
// not make the parent's unreadable, and readiness in the child does not make
// the parent's readable.
TEST(ChannelGroupForkTest, ChildsGroupLeavesTheParentsDescriptorAlone) {
  auto status = RunInChild([] {
    ChannelGroup group;
    SignalChannel a(1);
    ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
    ASSERT_TRUE(group.Add(&a).ok());
    absl::StatusOr<int> parent_fd = group.ReadyFd();
    ASSERT_TRUE(parent_fd.ok());

    RaiseAndDispatch(SIGUSR1);
    ASSERT_TRUE(Readable(*parent_fd));
    auto child = RunInChild([&] {
      // The child's members keep what they held; its group is ready.
      absl::StatusOr<int> child_fd = group.ReadyFd();
      ASSERT_TRUE(child_fd.ok());
      EXPECT_TRUE(Readable(*child_fd));
      EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&a}));
      EXPECT_EQ(a.TryReceive(), Signal(SIGUSR1));
      EXPECT_FALSE(Readable(*child_fd));
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    EXPECT_TRUE(Readable(*parent_fd))
        << "the child's drain cleared the parent's descriptor";
    EXPECT_EQ(a.TryReceive(), Signal(SIGUSR1));
    EXPECT_FALSE(Readable(*parent_fd));

    // The other way: a child that never asks for the descriptor, made
    // ready by its own signal, must not write the parent's.
    child = RunInChild([&] {
      RaiseAndDispatch(SIGUSR1);
      EXPECT_THAT(Ready(group), UnorderedElementsAreArray({&a}));
      absl::StatusOr<int> child_fd = group.ReadyFd();
      ASSERT_TRUE(child_fd.ok());
      EXPECT_TRUE(Readable(*child_fd));
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    EXPECT_FALSE(Readable(*parent_fd))
        << "the child's delivery made the parent's descriptor readable";
    EXPECT_TRUE(Ready(group).empty());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// An event loop on its own thread, as a host runs one: poll on the group's
// descriptor, take what ReadyChannels says, until every member of every
// round has its signal. Each round is sent once the loop has the previous
// one, so no delivery finds a full channel.
constexpr int kLoopMembers = 100;
constexpr int kLoopRounds = 20;
struct LoopState {
  ChannelGroup* group;
  int fd;
  std::atomic<int> received{0};
};

void* RunLoop(void* arg) {
  auto* state = static_cast<LoopState*>(arg);
  SignalChannel* ready[16];
  while (state->received.load() < kLoopMembers * kLoopRounds) {
    struct pollfd p = {state->fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) continue;  // EINTR
    while (size_t n = state->group->ReadyChannels(absl::MakeSpan(ready))) {
      for (size_t i = 0; i < n; ++i) {
        while (ready[i]->TryReceive()) state->received.fetch_add(1);
      }
    }
  }
  return nullptr;
}

TEST(ChannelGroupTest, AnEventLoopThreadReceivesEveryFanOut) {
  auto status = RunInChild([] {
    ChannelGroup group;
    Members m = Join(group, kLoopMembers, {SIGUSR1});
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    LoopState state{&group, *fd};
    // Twice the default stack, so glibc does not hand the loop thread the
    // cached stack (and id) of a parent thread, which TSan reports as a
    // duplicate thread.
    pthread_attr_t attr;
    size_t stack_size = 0;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_getstacksize(&attr, &stack_size), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 2 * stack_size), 0);
    pthread_t loop;
    ASSERT_EQ(pthread_create(&loop, &attr, RunLoop, &state), 0);
    for (int round = 1; round <= kLoopRounds; ++round) {
      ASSERT_EQ(raise(SIGUSR1), 0);
      while (state.received.load() < kLoopMembers * round) sched_yield();
    }
    ASSERT_EQ(pthread_join(loop, nullptr), 0);
    pthread_attr_destroy(&attr);
    EXPECT_EQ(state.received.load(), kLoopMembers * kLoopRounds);
    EXPECT_FALSE(Readable(*fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig

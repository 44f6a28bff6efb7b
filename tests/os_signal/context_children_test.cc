// Issue 13, class 8: a child context that is stopped or cancelled releases
// everything it held in its parent, as Go's context removes a cancelled
// child from its parent. A long-lived parent (a server's root context) with
// short-lived children (one per request) must not grow with every child.
//
// Counts the heap blocks the program holds (operator new minus operator
// delete) around many short-lived children: each child that left something
// behind in its parent would add at least its own block.
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "gtest/gtest.h"
#include "os_signal/signal.h"

namespace {
std::atomic<int64_t> g_live_blocks{0};

void* Allocate(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void Free(void* p) {
  if (p == nullptr) return;
  g_live_blocks.fetch_sub(1, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, std::size_t) noexcept { Free(p); }
void operator delete[](void* p, std::size_t) noexcept { Free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Free(p); }

namespace portsig {
namespace {

constexpr int kChildren = 20000;
// Children done by a signal cost a dispatch each (slow under TSan).
constexpr int kSignalledChildren = 2000;
// Far below one block per child: what a leak of each child's state would
// leave. Nothing portsig does per child may stay once the child is gone.
constexpr int64_t AllowedGrowth(int children) { return children / 100; }
constexpr int64_t kAllowedGrowth = AllowedGrowth(kChildren);

// Makes `n` children of `parent` and ends each through `end`.
template <typename End>
void Churn(const SignalContext& parent, int n, End end) {
  for (int i = 0; i < n; ++i) {
    auto child = NotifyContext({SIGUSR2}, &parent);
    ASSERT_TRUE(child.ok()) << child.status();
    end(*child);
  }
}

template <typename End>
void ExpectChildrenLeaveNothing(End end, int children = kChildren) {
  auto parent = NotifyContext({SIGUSR1});
  ASSERT_TRUE(parent.ok()) << parent.status();
  // Warm-up: lazily made state (portsig's threads, hash tables at their
  // working size) is not the children's.
  Churn(*parent, 200, end);
  const int64_t before = g_live_blocks.load();
  Churn(*parent, children, end);
  const int64_t growth = g_live_blocks.load() - before;
  EXPECT_LT(growth, AllowedGrowth(children))
      << children << " ended children left " << growth
      << " heap blocks behind in their parent";
  EXPECT_FALSE(parent->done());
}

TEST(ContextChildrenTest, StoppedChildrenLeaveNothingInTheParent) {
  ExpectChildrenLeaveNothing([](SignalContext& child) { child.Stop(); });
}

TEST(ContextChildrenTest, DestroyedChildrenLeaveNothingInTheParent) {
  ExpectChildrenLeaveNothing([](SignalContext&) {});
}

// Done by their own signal, then destroyed. In the runner itself, not in
// RunInChild: TSan runs no handler in a child forked from a process whose
// portsig threads already run (the earlier tests start them). Safe: each
// SIGUSR2 is raised while a child context holds it, and raise() runs
// portsig's handler before it returns.
TEST(ContextChildrenTest, SignalledChildrenLeaveNothingInTheParent) {
  ExpectChildrenLeaveNothing(
      [](SignalContext& child) {
        raise(SIGUSR2);
        child.Wait();
        EXPECT_EQ(child.signal(), Signal(SIGUSR2));
      },
      kSignalledChildren);
}

// A child whose registration failed (bad input) was never anyone's child.
TEST(ContextChildrenTest, RefusedChildrenLeaveNothingInTheParent) {
  auto parent = NotifyContext({SIGUSR1});
  ASSERT_TRUE(parent.ok()) << parent.status();
  const int64_t before = g_live_blocks.load();
  for (int i = 0; i < kChildren; ++i) {
    auto child = NotifyContext({SIGKILL}, &*parent);
    ASSERT_EQ(child.status().code(), absl::StatusCode::kInvalidArgument);
  }
  const int64_t growth = g_live_blocks.load() - before;
  EXPECT_LT(growth, kAllowedGrowth)
      << kChildren << " refused children left " << growth
      << " heap blocks behind in their parent";
}

// The parent's end still reaches every child that is running.
TEST(ContextChildrenTest, RunningChildrenStillEndWithTheirParent) {
  auto parent = NotifyContext({SIGUSR1});
  ASSERT_TRUE(parent.ok()) << parent.status();
  Churn(*parent, 100, [](SignalContext& child) { child.Stop(); });
  std::vector<SignalContext> running;
  for (int i = 0; i < 10; ++i) {
    auto child = NotifyContext({SIGUSR2}, &*parent);
    ASSERT_TRUE(child.ok()) << child.status();
    running.push_back(*std::move(child));
  }
  running[3].Stop();
  parent->Stop();
  for (const SignalContext& child : running) {
    EXPECT_TRUE(child.done());
  }
  EXPECT_EQ(running[4].status().message(), "parent context done");
  EXPECT_EQ(running[3].status().message(), "context stopped");
}

}  // namespace
}  // namespace portsig

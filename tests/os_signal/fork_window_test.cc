// A signal that reaches a forked child before portsig has reset the child's
// copy of its queue must not be lost (nor, on the note backend, spin on a
// lock copied while held): runtime.cc keeps every signal blocked in the
// forking thread from its prepare handler until the child's queue is reset.
//
// The window is made deterministic with a pthread_atfork child handler
// registered before portsig starts: child handlers run in the order they
// were registered, so ours runs in the new child before portsig's, and
// raises SIGUSR1 there. With the block, the signal stays pending until
// portsig unblocks it after the reset, then is queued and delivered to the
// inherited channel. Without it, the handler queues it into the stale
// queue, the reset throws it away, and the child never receives it.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"

namespace portsig {
namespace {

std::atomic<bool> g_raise_in_child{false};

void RaiseInChild() {
  if (g_raise_in_child.load()) raise(SIGUSR1);
}

TEST(ForkWindowTest, SignalBeforeTheChildsQueueResetIsDelivered) {
  auto status = testing::RunInChild([] {
    // Before portsig registers its own fork handlers.
    ASSERT_EQ(pthread_atfork(nullptr, nullptr, &RaiseInChild), 0);
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    // Let the dispatcher Notify started reach its sleep first: GCC 12's
    // ASan does not lock its allocator across fork(), so a thread still
    // starting up at that moment can leave the child's allocator locked.
    testing::WaitForDispatch(SIGRTMIN + 10);
    g_raise_in_child = true;
    auto child = testing::RunInChild([&] {
      testing::WaitForDispatch(SIGRTMIN + 10);
      EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1))
          << "the signal raised in the fork window was lost";
    });
    g_raise_in_child = false;
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig

// Fault-injection points, compiled in only when PORTSIG_TEST_HOOKS is
// defined (the *_for_test library variants). A hook is a plain function
// pointer read with one atomic load; production builds contain neither the
// pointers nor the calls.
#ifndef PORTSIG_PLATFORM_TEST_HOOKS_H_
#define PORTSIG_PLATFORM_TEST_HOOKS_H_

#include <atomic>

// build_defs.bzl's _HOOK_FREE libraries share one build between production
// and tests, which holds only while none of them sees a hook.
#ifdef PORTSIG_HOOK_FREE
#error "test_hooks.h in a _HOOK_FREE library: take it off that list"
#endif

namespace portsig {
namespace test_hooks {

#ifdef PORTSIG_TEST_HOOKS
using Hook = void (*)(int signo);
// In SigQueue::Send and SendNote, after the sender has read `wanted` and
// before it queues: the window Go's 2017 fix left open.
extern std::atomic<Hook> after_wanted_check;
// After the runtime changed a signal's disposition (install, ignore,
// restore), on the ordinary thread that changed it.
extern std::atomic<Hook> disposition_changed;
// On entry to portsig's async signal handler.
extern std::atomic<Hook> handler_entered;
// In portsig's async signal handler, as it reads the disposition in place
// to learn whether the kernel passed it a siginfo: every signal, except
// where the kernel entered it through portsig's own restorer
// (platform/own_restorer.h).
extern std::atomic<Hook> handler_read_disposition;
// In the note backend's Push, while its lock is held, and just after it
// released it. The argument is the note's length.
extern std::atomic<Hook> note_push_locked;
extern std::atomic<Hook> note_push_unlocked;
// In the runtime's delivery of a received signal, before it is fanned out,
// on whichever thread holds the queue's receive role (the dispatcher, a
// poller, a sleeping receiver, a caller of WaitUntilIdle such as Stop).
extern std::atomic<Hook> before_fan_out;
// In os_signal's fan-out, after the current subscribers of a signal (0 for
// a text note) were given it and before the stopping list is: a receiver
// may already hold the delivery.
extern std::atomic<Hook> after_fan_out;
// In os_signal's Stop, between parking the channel on the stopping list and
// waiting for the runtime to go idle (or, when it found the runtime idle
// and parked nothing, where it would have waited).
extern std::atomic<Hook> stop_between_phases;
// In os_signal's Stop, with the handler map's lock held, once the channel
// has been taken out of the map and before Stop looks whether the runtime
// is idle (and so whether it can skip parking and waiting). The argument
// is 0.
extern std::atomic<Hook> stop_removed;
// At the start of the runtime's RestoreSaved (an ordinary thread, holding
// the runtime's lock, the signal already unwanted).
extern std::atomic<Hook> restore_saved_begin;
// In portsig's async handler, when it is about to reset a SA_RESETHAND
// handler it calls in the kernel's place for an unwanted signal, before it
// takes the signal's table to do so (runtime/signal_handler.cc).
extern std::atomic<Hook> resethand_before_reset;
// In the runtime's mask thread (runtime/mask_thread.h), each time a change
// of its mask is asked for (a round trip to that thread, or its start),
// on the asking thread. The argument is 0.
extern std::atomic<Hook> mask_change_requested;
// In the handler's default action for a stop signal, once the process has
// been continued, before portsig decides whether to put its handler back.
extern std::atomic<Hook> default_action_resumed;

// In a SignalContext's Wait/WaitFor/WaitUntil, when a wait returned and
// the waiter holds the context's lock again, before it looks at the
// context. The argument is 0.
extern std::atomic<Hook> context_waiter_woken;
// In SignalChannel, when a member of a ChannelGroup has just given up its
// last buffered signal and before its group hears of it, with the
// channel's lock held (not the group's). The argument is 0.
extern std::atomic<Hook> group_member_drained;
// When a ChannelGroup writes its ready descriptor (a member became ready
// while none was, a fan-out that held the write back ended, or a
// descriptor was opened with members ready), with the group's lock held.
// The argument is 0.
extern std::atomic<Hook> group_fd_set;

// In RecordRing::Push, when it has chosen the ring and is about to claim a
// cell (async signal handler or any thread); in RecordRing::Pop, once it
// found the ring empty and is about to take the overflow summary (the
// receiver); and in LatestRecord::Take, between taking the count and
// reading the record (the receiver). The argument is 0.
extern std::atomic<Hook> ring_push_claiming;
extern std::atomic<Hook> ring_taking;
extern std::atomic<Hook> latest_record_taking;

// In OneShotWakeup::Sleep, when its spin (if any) found no Wake() and the
// thread is about to park. The argument is 0.
extern std::atomic<Hook> wakeup_parking;
// In OneShotWakeup::Sleep and SignalChannel's Receive, as a spin begins.
extern std::atomic<Hook> spin_started;
// In SignalChannel's Receive, as its spin ends: 1 if a delivery ended it,
// 0 if the budget or the deadline did.
extern std::atomic<Hook> spin_ended;
// In runtime::SpinMask, on the spinning thread, once it blocked what it
// blocks (if anything). The argument is 0.
extern std::atomic<Hook> spin_mask_blocked;

// Sleeping receivers (sigqueue.h), on the receiver's thread: after it
// announced its sleep and found nothing to take, before it sleeps
// (receiver_before_sleep); when its sleep ended, before it withdraws
// (receiver_woke); and as it leaves, before it withdraws for good
// (receiver_leaving). On the sender, after it woke a sleeping receiver
// instead of the dispatcher (receiver_picked, with the signal's slot).
// The argument of the first three is 0.
extern std::atomic<Hook> receiver_before_sleep;
extern std::atomic<Hook> receiver_woke;
extern std::atomic<Hook> receiver_leaving;
extern std::atomic<Hook> receiver_picked;
// In ReceiverSlot::Sleep, on the owner's thread, after its last look at the
// state word and before it waits (receiver_slot_looked); in ReceiverSlot,
// on the waker, as it carries a wake-up to a sleeper (a futex wake or a
// pipe write: receiver_wake_carried). The argument is 0.
extern std::atomic<Hook> receiver_slot_looked;
extern std::atomic<Hook> receiver_wake_carried;
// In SigQueue, each time a thread that waits for the receive role finds it
// held by another. The argument is 0.
extern std::atomic<Hook> role_busy;

// While a host thread holds a lock that fork() must find free: in
// SignalChannel::size() (argument 1), SignalContext::signal() (2), the
// runtime's CurrentSettings (3) and ChannelGroup::ReadyChannels (4), under
// the channel's, the context's, the settings' and the group's lock.
extern std::atomic<Hook> inside_fork_held_lock;
// When set to a signal number, the runtime fails to install a handler for
// that signal, as if sigaction had refused.
extern std::atomic<int> fail_install_signo;
// When set to a signal number, the runtime's restore of that signal's
// disposition fails, as if sigaction had refused (EINVAL).
extern std::atomic<int> fail_restore_signo;
// While true, the runtime's deferred restores (runtime/deferred_restore.h)
// wait: a lingering handler stays until it is false again.
extern std::atomic<bool> hold_deferred_restores;
// Impossible states, made on purpose so a test can see them caught (issue
// 13, class 10). When true, the posix queue's AwaitSenders (the
// dispatcher's wait) finds the state "receiving" as it starts to wait (as
// if a second dispatcher were asleep); the flag clears itself.
extern std::atomic<bool> posix_receiver_finds_receiving;
// When true, Notify subscribes to notes without indexing them, so a later
// Stop finds a subscribed note missing from the index.
extern std::atomic<bool> skip_note_index;
// When true, the handler map's Add and Remove always take their general
// path, never the fast ones (AddNamedSignalFastLocked,
// TakeSharedSignalsFastLocked): a differential test compares the two.
extern std::atomic<bool> no_handler_map_fast_paths;

inline void Run(const std::atomic<Hook>& hook, int signo) {
  if (Hook h = hook.load(std::memory_order_acquire)) h(signo);
}
#define PORTSIG_TEST_HOOK(name, signo) \
  ::portsig::test_hooks::Run(::portsig::test_hooks::name, (signo))
#else
#define PORTSIG_TEST_HOOK(name, signo) static_cast<void>(0)
#endif

}  // namespace test_hooks
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_TEST_HOOKS_H_

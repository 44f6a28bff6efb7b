// The public headers are the contract and nothing else (issue 16): what a
// program gets from "os_signal/signal.h" includes no platform/ or runtime/
// header and none of os_signal's internal ones (subscriber.h, the handler
// map and its mechanisms, the group's state). Checked by their include guards,
// right after including signal.h and nothing of portsig before it: this file
// fails to compile if one of them comes along.
#include "os_signal/signal.h"

#if defined(PORTSIG_OS_SIGNAL_SUBSCRIBER_H_) ||     \
    defined(PORTSIG_OS_SIGNAL_HANDLER_MAP_H_) ||    \
    defined(PORTSIG_OS_SIGNAL_GROUP_STATE_H_) ||    \
    defined(PORTSIG_OS_SIGNAL_STOPPING_LIST_H_) ||  \
    defined(PORTSIG_OS_SIGNAL_QUEUE_REQUESTS_H_) || \
    defined(PORTSIG_OS_SIGNAL_WANTED_H_)
#error "a public header includes an internal os_signal header"
#endif

#if defined(PORTSIG_PLATFORM_FATAL_H_) ||                                     \
    defined(PORTSIG_PLATFORM_LATEST_RECORD_H_) ||                             \
    defined(PORTSIG_PLATFORM_OS_NAME_H_) ||                                   \
    defined(PORTSIG_PLATFORM_PARKER_H_) ||                                    \
    defined(PORTSIG_PLATFORM_QUIET_THREAD_H_) ||                              \
    defined(PORTSIG_PLATFORM_READINESS_FD_H_) ||                              \
    defined(PORTSIG_PLATFORM_RECORD_RING_H_) ||                               \
    defined(PORTSIG_PLATFORM_SANITIZERS_H_) ||                                \
    defined(PORTSIG_PLATFORM_SCOPED_SIGNAL_BLOCK_H_) ||                       \
    defined(PORTSIG_PLATFORM_SIGNAL_NAMES_H_) ||                              \
    defined(PORTSIG_PLATFORM_SIGNAL_RECORD_H_) ||                             \
    defined(PORTSIG_PLATFORM_SIGNAL_SET_H_) ||                                \
    defined(PORTSIG_PLATFORM_SIGQUEUE_H_) ||                                  \
    defined(PORTSIG_PLATFORM_SPIN_H_) || defined(PORTSIG_PLATFORM_SYNC_H_) || \
    defined(PORTSIG_PLATFORM_TEST_HOOKS_H_) ||                                \
    defined(PORTSIG_PLATFORM_THIS_THREAD_H_) ||                               \
    defined(PORTSIG_PLATFORM_WAKEUP_H_)
#error "a public header includes a platform/ header"
#endif

#if defined(PORTSIG_RUNTIME_CONFIG_H_) ||           \
    defined(PORTSIG_RUNTIME_DEFERRED_RESTORE_H_) || \
    defined(PORTSIG_RUNTIME_MASK_THREAD_H_) ||      \
    defined(PORTSIG_RUNTIME_RUNTIME_H_) ||          \
    defined(PORTSIG_RUNTIME_SIGACTION_TABLE_H_)
#error "a public header includes a runtime/ header"
#endif

#include <type_traits>

#include "gtest/gtest.h"

namespace portsig {
namespace {

// What a program may do with the public types, stated at compile time.
TEST(PublicHeadersTest, ValueSemanticsAreAsDocumented) {
  static_assert(std::is_nothrow_move_constructible_v<SignalContext>);
  static_assert(std::is_nothrow_move_assignable_v<SignalContext>);
  static_assert(!std::is_copy_constructible_v<SignalContext>);
  static_assert(!std::is_copy_constructible_v<SignalChannel>);
  static_assert(!std::is_move_constructible_v<SignalChannel>);
  // A channel is not a subscriber: nothing of the handler map's interface
  // is part of it.
  static_assert(!std::is_polymorphic_v<SignalChannel>);
}

}  // namespace
}  // namespace portsig

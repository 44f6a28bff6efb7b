#include "platform/test_hooks.h"

namespace portsig {
namespace test_hooks {
#ifdef PORTSIG_TEST_HOOKS
std::atomic<Hook> after_wanted_check{nullptr};
std::atomic<Hook> disposition_changed{nullptr};
std::atomic<int> fail_install_signo{0};
std::atomic<int> fail_restore_signo{0};
std::atomic<bool> hold_deferred_restores{false};
std::atomic<bool> posix_receiver_finds_receiving{false};
std::atomic<bool> skip_note_index{false};
std::atomic<bool> no_handler_map_fast_paths{false};
std::atomic<Hook> handler_entered{nullptr};
std::atomic<Hook> handler_read_disposition{nullptr};
std::atomic<Hook> before_fan_out{nullptr};
std::atomic<Hook> after_fan_out{nullptr};
std::atomic<Hook> note_push_locked{nullptr};
std::atomic<Hook> note_push_unlocked{nullptr};
std::atomic<Hook> stop_between_phases{nullptr};
std::atomic<Hook> stop_removed{nullptr};
std::atomic<Hook> restore_saved_begin{nullptr};
std::atomic<Hook> default_action_resumed{nullptr};
std::atomic<Hook> wakeup_parking{nullptr};
std::atomic<Hook> spin_started{nullptr};
std::atomic<Hook> spin_ended{nullptr};
std::atomic<Hook> spin_mask_blocked{nullptr};
std::atomic<Hook> resethand_before_reset{nullptr};
std::atomic<Hook> receiver_before_sleep{nullptr};
std::atomic<Hook> receiver_woke{nullptr};
std::atomic<Hook> receiver_slot_looked{nullptr};
std::atomic<Hook> receiver_wake_carried{nullptr};
std::atomic<Hook> receiver_leaving{nullptr};
std::atomic<Hook> receiver_picked{nullptr};
std::atomic<Hook> role_busy{nullptr};
std::atomic<Hook> mask_change_requested{nullptr};
std::atomic<Hook> context_waiter_woken{nullptr};
std::atomic<Hook> inside_fork_held_lock{nullptr};
std::atomic<Hook> group_member_drained{nullptr};
std::atomic<Hook> group_fd_set{nullptr};
std::atomic<Hook> ring_push_claiming{nullptr};
std::atomic<Hook> ring_taking{nullptr};
std::atomic<Hook> latest_record_taking{nullptr};
#endif
}  // namespace test_hooks
}  // namespace portsig

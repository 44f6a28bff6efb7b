// The posix backend: Go's runtime/sigqueue.go model.
//
// Pending signals are bits in atomic words, so repeats of one signal
// coalesce and the sender never allocates or locks. A three-state machine
// tells the sender whether it must wake the dispatcher:
//   kIdle      dispatcher is running (processing, or about to look at bits)
//   kReceiving dispatcher is asleep, or about to sleep, on `wakeup_`
//   kSending   a sender set bits while the dispatcher was running; it must
//              look again before sleeping
// While a poller is registered (SigQueue's polling) the sender leaves the
// state alone and the dispatcher asleep: the poller takes the bit. So it
// does when it wakes a sleeping receiver (SigQueue's sleeping receivers),
// which takes the bit instead; only with neither does it go through the
// states above.
//
// Each signal's latest record and occurrence count sit in a LatestRecord
// beside its bit; the sender publishes there before setting the bit, so the
// receiver that takes the bit also takes every occurrence behind it.
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "platform/fatal.h"
#include "platform/latest_record.h"
#include "platform/scoped_signal_block.h"
#include "platform/sigqueue.h"
#include "platform/test_hooks.h"
#include "platform/wakeup.h"

namespace portsig {
namespace platform {
namespace {

class PosixSigQueue final : public SigQueue {
 public:
  absl::string_view name() const override { return "posix"; }

  SendResult SendNote(absl::string_view, const SignalRecord&) override {
    return SendResult::kUnsupported;
  }

  void ResetAfterFork() override {
    SigQueue::ResetAfterFork();
    pending_.Clear();
    for (uint32_t& w : received_) w = 0;
    for (LatestRecord& latest : latest_) latest.Clear();
    state_.store(kIdle);
    sleeps_untimed_.store(false);
    wakeup_.Clear();
  }

 protected:
  // A drain takes the pending bits once: what it finds set, it returns.
  void BeginDrain() override { may_take_ = true; }

  bool TryReceiveRaw(QueuedSignal* out) override {
    // Serve from the role holder's private copy first, then take new bits.
    for (int pass = 0; pass < 2; ++pass) {
      for (int w = 0; w < AtomicSignalSet::kWords; ++w) {
        if (received_[w] == 0) continue;
        int bit = __builtin_ctz(received_[w]);
        received_[w] &= received_[w] - 1;
        out->signo = w * 32 + bit;
        out->occurrences = latest_[out->signo].Take(&out->record);
        out->note_length = 0;
        out->note[0] = '\0';
        return true;
      }
      if (pass == 0 && may_take_) {
        may_take_ = false;
        for (int w = 0; w < AtomicSignalSet::kWords; ++w) {
          received_[w] = pending_.TakeWord(w);
        }
      }
    }
    return false;
  }

  void AwaitSenders() override {
#ifdef PORTSIG_TEST_HOOKS
    if (test_hooks::posix_receiver_finds_receiving.exchange(false)) {
      state_.store(kReceiving);
    }
#endif
    for (;;) {
      uint32_t state = state_.load();
      if (state == kIdle) {
        if (state_.compare_exchange_strong(state, kReceiving)) {
          // Said before the look at pollers(), which FirstPollerRegistered
          // makes after its increment: one of the two sees the other.
          sleeps_untimed_.store(true);
          const bool untimed = pollers() == 0;
          if (untimed) wakeup_.Sleep();
          sleeps_untimed_.store(false);
          if (!untimed && !wakeup_.SleepFor(kPollerWatchdog)) {
            // Nobody woke this thread; stop being the sleeper senders wake,
            // unless one of them is waking it right now.
            uint32_t receiving = kReceiving;
            if (!state_.compare_exchange_strong(receiving, kIdle)) {
              wakeup_.Sleep(/*spin=*/false);
            }
          }
          wakeup_.Clear();
          return;
        }
      } else if (state == kSending) {
        if (state_.compare_exchange_strong(state, kIdle)) return;
      } else {
        // Only the holder of the receive role waits, and it leaves kIdle or
        // kSending behind whenever it returns: "receiving" here means a
        // second receiver, or a corrupted word. Go throws on this state
        // (sigqueue.go, signal_recv); returning would make the caller spin.
        Fatal("posix queue: the receiver found the state already receiving");
      }
    }
  }

  bool MayHavePending() const override { return !pending_.Empty(); }

  // The dispatcher asleep without a timeout would not notice a stalled
  // poller: wake it once, like a sender, so it sleeps again with one.
  void FirstPollerRegistered() override {
    if (!sleeps_untimed_.load()) return;
    // The state change and the wake-up must not be split by a handler that
    // longjmps out of this (ordinary) thread: the dispatcher would sleep on
    // in kIdle, where no sender wakes it. Senders run with signals blocked.
    ScopedSignalBlock block;
    uint32_t receiving = kReceiving;
    if (state_.compare_exchange_strong(receiving, kIdle)) wakeup_.Wake();
  }

  SendResult Enqueue(int signo, const SignalRecord* record) override {
    if (record != nullptr) latest_[signo].Publish(*record);
    if (pending_.Add(signo)) {
      // Already pending: coalesced. The sender that set the bit notifies the
      // receiver (or already has), and the receiver has not taken it yet.
      return SendResult::kQueued;
    }
    // A registered poller takes the bit, or drains it as it unregisters
    // (SigQueue::EndPoll): the dispatcher need not wake.
    if (pollers() > 0) return SendResult::kQueued;
    // A receiver asleep on the queue takes it and hands it on itself: one
    // wake-up from here to a receiver, not two (dispatcher, then it).
    if (WakeSleepingReceiver(signo)) return SendResult::kQueued;
    for (;;) {
      uint32_t state = state_.load();
      switch (state) {
        case kIdle:
          if (state_.compare_exchange_strong(state, kSending)) {
            return SendResult::kQueued;
          }
          break;
        case kSending:
          return SendResult::kQueued;
        case kReceiving:
          if (state_.compare_exchange_strong(state, kIdle)) {
            wakeup_.Wake();
            return SendResult::kQueued;
          }
          break;
        default:
          // Not one of the three states: a corrupted word. Looping would
          // hang the handler. (Go throws here too, in sigsend.)
          Fatal("posix queue: a sender found an unknown state", signo);
      }
    }
  }

 private:
  enum : uint32_t { kIdle = 0, kReceiving = 1, kSending = 2 };

  // While pollers are registered senders do not wake the dispatcher, so a
  // poller that stalls (descheduled, stopped in a debugger, or gone by a
  // longjmp that skipped its unregistering) would hold up every signal.
  // The dispatcher therefore looks this often while any poller is
  // registered: a bound on that stall, at 100 wake-ups a second.
  static constexpr absl::Duration kPollerWatchdog = absl::Milliseconds(10);

  LatestRecord latest_[kMaxSignal + 1];
  AtomicSignalSet pending_;
  std::atomic<uint32_t> state_{kIdle};
  // The dispatcher is asleep (or about to be) with no watchdog timeout.
  std::atomic<bool> sleeps_untimed_{false};
  OneShotWakeup wakeup_;
  // The role holder's: bits taken from pending_ but not yet returned.
  uint32_t received_[AtomicSignalSet::kWords] = {};
  bool may_take_ = false;
};

}  // namespace

std::unique_ptr<SigQueue> NewPosixSigQueue() {
  return std::make_unique<PosixSigQueue>();
}

}  // namespace platform
}  // namespace portsig

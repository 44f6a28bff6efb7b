// The posix backend: Go's runtime/sigqueue.go model.
//
// Pending signals are bits in atomic words, so repeats of one signal
// coalesce and the sender never allocates or locks. A three-state machine
// tells the sender whether it must wake the receiver:
//   kIdle      receiver is running (processing, or about to look at bits)
//   kReceiving receiver is asleep, or about to sleep, on `wakeup_`
//   kSending   a sender set bits while the receiver was running; the
//              receiver must look again before sleeping
//
// Each signal's latest record and occurrence count sit in a LatestRecord
// beside its bit; the sender publishes there before setting the bit, so the
// receiver that takes the bit also takes every occurrence behind it.
#include <atomic>
#include <cstdint>

#include "platform/latest_record.h"
#include "platform/sigqueue.h"
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
    wakeup_.Clear();
  }

 protected:
  void ReceiveRaw(QueuedSignal* out) override {
    for (;;) {
      // Serve from the receiver's private copy first.
      for (int w = 0; w < AtomicSignalSet::kWords; ++w) {
        if (received_[w] == 0) continue;
        int bit = __builtin_ctz(received_[w]);
        received_[w] &= received_[w] - 1;
        out->signo = w * 32 + bit;
        out->occurrences = latest_[out->signo].Take(&out->record);
        out->note_length = 0;
        out->note[0] = '\0';
        return;
      }
      WaitForSenders();
      for (int w = 0; w < AtomicSignalSet::kWords; ++w) {
        received_[w] = pending_.TakeWord(w);
      }
    }
  }

  SendResult Enqueue(int signo, const SignalRecord* record) override {
    if (record != nullptr) latest_[signo].Publish(*record);
    if (pending_.Add(signo)) {
      // Already pending: coalesced. The sender that set the bit notifies the
      // receiver (or already has), and the receiver has not taken it yet.
      return SendResult::kQueued;
    }
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
      }
    }
  }

  bool ReceiverIdle() override { return state_.load() == kReceiving; }

 private:
  enum : uint32_t { kIdle = 0, kReceiving = 1, kSending = 2 };

  // Blocks until a sender has set new bits since the last look.
  void WaitForSenders() {
    for (;;) {
      uint32_t state = state_.load();
      if (state == kIdle) {
        if (state_.compare_exchange_strong(state, kReceiving)) {
          wakeup_.Sleep();
          wakeup_.Clear();
          return;
        }
      } else if (state == kSending) {
        if (state_.compare_exchange_strong(state, kIdle)) return;
      }
    }
  }

  LatestRecord latest_[kMaxSignal + 1];
  AtomicSignalSet pending_;
  std::atomic<uint32_t> state_{kIdle};
  OneShotWakeup wakeup_;
  // Receiver-private: bits taken from pending_ but not yet returned.
  uint32_t received_[AtomicSignalSet::kWords] = {};
};

}  // namespace

std::unique_ptr<SigQueue> NewPosixSigQueue() {
  return std::make_unique<PosixSigQueue>();
}

}  // namespace platform
}  // namespace portsig

// Model-based random testing of the public API: each input is a sequence of
// calls (valid and invalid) on a few channels and one context, checked after
// every call against a small reference model of what portsig must have
// done: who wants which signal (the handler map and its reference counts),
// which dispositions are installed, what Ignored() says, which status each
// call returns, and where a raised signal or a posted note must go.
//
// The entry point is libFuzzer's LLVMFuzzerTestOneInput. fuzz/run.sh builds
// it with clang-14 -fsanitize=fuzzer (outside Bazel); //fuzz:model_replay_test
// links the same function to a main that replays fuzz/corpus in
// `bazel test //...`. A mismatch prints the call and the difference, then
// aborts (libFuzzer saves the input).
//
// Signals used: a pool whose original dispositions cover the cases (SIG_IGN
// as under nohup, a default that ignores, host handlers with and without
// SA_SIGINFO), so a raise is never fatal; invalid numbers and notes; text
// notes and the standard note "hangup" (= SIGHUP). Each input starts and
// ends with everything reset, so inputs are independent.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "os_signal/signal.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CurrentAction;
using testing::DescribeDifference;

constexpr int kChannels = 3;
constexpr size_t kCapacity = 2;

std::atomic<int64_t> g_host_calls[NSIG];
void HostInfo(int signo, siginfo_t*, void*) { g_host_calls[signo]++; }
void HostPlain(int signo) { g_host_calls[signo]++; }

enum class Original { kIgnore, kDefaultIgnores, kHost };

struct PoolSignal {
  int signo;
  Original original;
};

const std::vector<PoolSignal>& Pool() {
  static const auto* pool = new std::vector<PoolSignal>{
      {SIGHUP, Original::kIgnore},     {SIGWINCH, Original::kDefaultIgnores},
      {SIGURG, Original::kHost},       {SIGRTMIN + 1, Original::kHost},
      {SIGRTMIN + 2, Original::kHost},
  };
  return *pool;
}
int BarrierSignal() { return SIGRTMIN + 10; }

struct sigaction g_original[NSIG];

void SetUpOnce() {
  static bool done = false;
  if (done) return;
  done = true;
  signal(SIGHUP, SIG_IGN);
  signal(SIGWINCH, SIG_DFL);
  struct sigaction a = {};
  a.sa_sigaction = &HostInfo;
  a.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&a.sa_mask);
  sigaction(SIGURG, &a, nullptr);
  struct sigaction b = {};
  b.sa_handler = &HostPlain;
  b.sa_flags = 0;
  sigemptyset(&b.sa_mask);
  sigaddset(&b.sa_mask, SIGUSR1);
  sigaction(SIGRTMIN + 1, &b, nullptr);
  a.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaddset(&a.sa_mask, SIGHUP);
  sigaction(SIGRTMIN + 2, &a, nullptr);
  for (const PoolSignal& p : Pool()) {
    sigaction(p.signo, nullptr, &g_original[p.signo]);
  }
}

// What one subscriber wants, as far as the model tracks it.
// Notify() with no list means every catchable signal (of which the model
// tracks the pool) and every note.
struct Wants {
  std::set<int> signals;
  bool all_notes = false;
  std::set<std::string> notes;
  bool WantsSignal(int s) const { return signals.count(s) > 0; }
  bool WantsNote(const std::string& n) const {
    return all_notes || notes.count(n) > 0;
  }
};

// The values the input can name.
struct Value {
  Signal signal;
  bool valid;
};
const std::vector<Value>& Values() {
  static const auto* values = new std::vector<Value>{
      {SIGHUP, true},
      {SIGWINCH, true},
      {SIGURG, true},
      {SIGRTMIN + 1, true},
      {SIGRTMIN + 2, true},
      {Signal::Note("reload"), true},
      {Signal::Note("ping"), true},
      {Signal::Note("hangup"), true},  // = SIGHUP
      {0, false},
      {SIGKILL, false},
      {SIGSTOP, false},
      {NSIG, false},
      {32, false},
      {Signal::Note(""), false},
      {Signal::Note(std::string(128, 'x')), false},
  };
  return *values;
}

// Reads the input a byte at a time; zeros once it runs out.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t Next() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class Model {
 public:
  explicit Model(const std::string& backend) : backend_(backend) {
    for (int i = 0; i < kChannels; ++i) {
      channels_.push_back(std::make_unique<SignalChannel>(kCapacity));
    }
    fanouts_.assign(kChannels, 0);
  }

  void Run(Input* in) {
    int steps = 0;
    while (!in->done() && steps++ < 200) {
      Step(in);
      CheckAll();
    }
    Finish();
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    std::fprintf(stderr, "MODEL MISMATCH after %s: %s\n", last_.c_str(),
                 what.c_str());
    std::fflush(stderr);
    std::abort();
  }

  void ExpectCode(const absl::Status& s, absl::StatusCode want) {
    if (s.code() != want) {
      Fail(absl::StrCat("status ", s.ToString(), ", want code ",
                        absl::StatusCodeToString(want)));
    }
  }

  std::vector<Signal> List(Input* in, bool* all_valid, bool* has_note) {
    std::vector<Signal> list;
    const int n = 1 + in->Next() % 3;
    *all_valid = true;
    *has_note = false;
    for (int i = 0; i < n; ++i) {
      const Value& v = Values()[in->Next() % Values().size()];
      list.push_back(v.signal);
      *all_valid &= v.valid;
      *has_note |= v.signal.is_note();
    }
    return list;
  }

  static std::string Describe(const std::vector<Signal>& list) {
    std::string out = "{";
    for (const Signal& s : list) {
      absl::StrAppend(&out, s.is_note() ? "note:" : "",
                      s.is_note() ? s.note().substr(0, 8) : s.ToString(), " ");
    }
    return out + "}";
  }

  void AddTo(Wants* w, const std::vector<Signal>& list) {
    for (const Signal& s : list) {
      if (s.is_note()) {
        w->notes.insert(s.note());
      } else {
        w->signals.insert(s.number());
        ignored_.erase(s.number());  // Notify un-ignores.
      }
    }
  }

  int RefCount(int signo) const {
    int n = 0;
    for (const Wants& w : wants_) n += w.WantsSignal(signo);
    if (context_ && context_wants_.WantsSignal(signo)) ++n;
    return n;
  }
  bool AnyWantsNote(const std::string& note) const {
    for (const Wants& w : wants_) {
      if (w.WantsNote(note)) return true;
    }
    return context_ && context_wants_.WantsNote(note);
  }

  void Step(Input* in) {
    const int op = in->Next() % 12;
    const int ch = in->Next() % kChannels;
    bool valid = false, has_note = false;
    switch (op) {
      case 0: {  // Notify(ch, list)
        auto list = List(in, &valid, &has_note);
        last_ = absl::StrCat("Notify(ch", ch, ", ", Describe(list), ")");
        absl::Status s = Notify(*channels_[ch], list);
        if (!valid) return ExpectCode(s, absl::StatusCode::kInvalidArgument);
        ExpectCode(s, absl::StatusCode::kOk);
        AddTo(&wants_[ch], list);
        return;
      }
      case 1: {  // Notify(ch): everything
        last_ = absl::StrCat("Notify(ch", ch, ")");
        ExpectCode(Notify(*channels_[ch]), absl::StatusCode::kOk);
        for (const PoolSignal& p : Pool()) wants_[ch].signals.insert(p.signo);
        wants_[ch].all_notes = true;
        ignored_.clear();  // Every catchable signal, so every pool one.
        return;
      }
      case 2:  // Stop(ch)
        last_ = absl::StrCat("Stop(ch", ch, ")");
        Stop(*channels_[ch]);
        wants_[ch] = Wants();
        return;
      case 3: {  // Reset(list)
        auto list = List(in, &valid, &has_note);
        last_ = absl::StrCat("Reset(", Describe(list), ")");
        absl::Status s = Reset(list);
        if (!valid) return ExpectCode(s, absl::StatusCode::kInvalidArgument);
        ExpectCode(s, absl::StatusCode::kOk);
        for (const Signal& sig : list) Drop(sig, /*ignore=*/false);
        return;
      }
      case 4:  // Reset(): everything
        last_ = "Reset()";
        ExpectCode(Reset(), absl::StatusCode::kOk);
        DropEverything(/*ignore=*/false);
        return;
      case 5: {  // Ignore(list)
        auto list = List(in, &valid, &has_note);
        last_ = absl::StrCat("Ignore(", Describe(list), ")");
        absl::Status s = Ignore(list);
        if (!valid || has_note) {
          return ExpectCode(s, absl::StatusCode::kInvalidArgument);
        }
        ExpectCode(s, absl::StatusCode::kOk);
        for (const Signal& sig : list) Drop(sig, /*ignore=*/true);
        return;
      }
      case 6:  // Ignore(): every catchable signal (notes stay wanted)
        last_ = "Ignore()";
        ExpectCode(Ignore(), absl::StatusCode::kOk);
        DropEverything(/*ignore=*/true);
        return;
      case 7: {  // raise a pool signal
        const int signo = Pool()[in->Next() % Pool().size()].signo;
        last_ = absl::StrCat("raise(", Signal(signo).ToString(), ")");
        RaiseAndCheck(signo, [signo] { raise(signo); });
        return;
      }
      case 8: {  // PostNote
        const char* const texts[] = {"reload", "ping", "hangup", "sys: x", ""};
        const std::string text = texts[in->Next() % 5];
        last_ = absl::StrCat("PostNote(\"", text, "\")");
        if (text == "hangup") {
          absl::Status s;
          RaiseAndCheck(SIGHUP, [&] { s = PostNote(text); });
          return ExpectCode(s, absl::StatusCode::kOk);
        }
        if (text.empty() || text == "sys: x") {
          return ExpectCode(PostNote(text), absl::StatusCode::kInvalidArgument);
        }
        const bool wanted = AnyWantsNote(text);
        absl::Status s = PostNote(text);
        if (backend_ == "posix") {
          return ExpectCode(s, absl::StatusCode::kFailedPrecondition);
        }
        if (!wanted) return ExpectCode(s, absl::StatusCode::kNotFound);
        ExpectCode(s, absl::StatusCode::kOk);
        testing::WaitForDispatch(BarrierSignal());
        for (int i = 0; i < kChannels; ++i)
          fanouts_[i] += wants_[i].WantsNote(text);
        if (context_ && context_wants_.WantsNote(text) && !context_signal_) {
          context_signal_ = Signal::Note(text);
        }
        return;
      }
      case 9:  // Destroy and remake ch (destroying stops it)
        last_ = absl::StrCat("~SignalChannel(ch", ch, ")");
        channels_[ch] = std::make_unique<SignalChannel>(kCapacity);
        wants_[ch] = Wants();
        fanouts_[ch] = 0;
        return;
      case 10: {  // NotifyContext(list), replacing the current one
        auto list = List(in, &valid, &has_note);
        last_ = absl::StrCat("NotifyContext(", Describe(list), ")");
        if (context_) context_->Stop();
        context_.reset();
        context_wants_ = Wants();
        context_signal_.reset();
        auto made = NotifyContext(list);
        if (!valid) {
          return ExpectCode(made.status(), absl::StatusCode::kInvalidArgument);
        }
        ExpectCode(made.status(), absl::StatusCode::kOk);
        context_ = *std::move(made);
        AddTo(&context_wants_, list);
        return;
      }
      default:  // The context's Stop
        last_ = "context Stop()";
        if (context_) context_->Stop();
        context_.reset();
        context_wants_ = Wants();
        context_signal_.reset();
        return;
    }
  }

  void Drop(const Signal& sig, bool ignore) {
    if (sig.is_note()) {
      for (Wants& w : wants_) w.notes.erase(sig.note());
      context_wants_.notes.erase(sig.note());
      return;
    }
    const int s = sig.number();
    for (Wants* w : AllWants()) w->signals.erase(s);
    if (ignore) {
      ignored_.insert(s);
    } else {
      ignored_.erase(s);
    }
  }

  void DropEverything(bool ignore) {
    for (const PoolSignal& p : Pool()) Drop(p.signo, ignore);
    if (!ignore) {  // Reset() also drops every note; Ignore() keeps them.
      for (Wants* w : AllWants()) {
        w->notes.clear();
        w->all_notes = false;
      }
    }
  }

  std::vector<Wants*> AllWants() {
    std::vector<Wants*> all;
    for (Wants& w : wants_) all.push_back(&w);
    all.push_back(&context_wants_);
    return all;
  }

  template <typename Send>
  void RaiseAndCheck(int signo, Send send) {
    const int64_t host_before = g_host_calls[signo].load();
    const bool relayed = RefCount(signo) > 0;
    send();
    testing::WaitForDispatch(BarrierSignal());
    const PoolSignal* pool = nullptr;
    for (const PoolSignal& p : Pool()) {
      if (p.signo == signo) pool = &p;
    }
    const bool host_expected = !relayed && ignored_.count(signo) == 0 &&
                               pool->original == Original::kHost;
    const int64_t host_calls = g_host_calls[signo].load() - host_before;
    if (host_calls != (host_expected ? 1 : 0)) {
      Fail(absl::StrCat("host handler ran ", host_calls, " times, want ",
                        host_expected ? 1 : 0));
    }
    for (int i = 0; i < kChannels; ++i)
      fanouts_[i] += wants_[i].WantsSignal(signo);
    if (context_ && context_wants_.WantsSignal(signo) && !context_signal_) {
      context_signal_ = Signal(signo);
    }
  }

  void CheckAll() {
    for (int i = 0; i < kChannels; ++i) {
      const uint64_t seen = channels_[i]->delivered() + channels_[i]->dropped();
      if (seen != fanouts_[i]) {
        Fail(absl::StrCat("ch", i, " saw ", seen, " fan-outs, want ",
                          fanouts_[i]));
      }
      if (channels_[i]->delivered() != std::min<uint64_t>(kCapacity, seen)) {
        Fail(absl::StrCat("ch", i, " delivered ", channels_[i]->delivered()));
      }
    }
    if (context_) {
      if (context_->done() != context_signal_.has_value() ||
          context_->signal() != context_signal_) {
        Fail(absl::StrCat(
            "context done=", context_->done(), " signal=",
            context_->signal() ? context_->signal()->ToString() : "none",
            ", want ",
            context_signal_ ? context_signal_->ToString() : "not done"));
      }
    }
    for (const PoolSignal& p : Pool()) {
      const int s = p.signo;
      const struct sigaction now = CurrentAction(s);
      const bool ours = RefCount(s) > 0;
      const bool ignored = !ours && ignored_.count(s) > 0;
      if (ours) {
        const bool is_portsig = (now.sa_flags & SA_SIGINFO) &&
                                now.sa_sigaction != &HostInfo &&
                                (now.sa_flags & SA_ONSTACK);
        if (!is_portsig)
          Fail(Signal(s).ToString() + " lacks portsig's handler");
      } else if (ignored) {
        if ((now.sa_flags & SA_SIGINFO) || now.sa_handler != SIG_IGN) {
          Fail(Signal(s).ToString() + " is not SIG_IGN after Ignore");
        }
      } else {
        const std::string diff = DescribeDifference(g_original[s], now);
        if (!diff.empty())
          Fail(Signal(s).ToString() + " not restored: " + diff);
      }
      const bool want_ignored =
          ignored || (!ours && p.original == Original::kIgnore);
      if (Ignored(s) != want_ignored) {
        Fail(absl::StrCat("Ignored(", Signal(s).ToString(),
                          ") = ", !want_ignored));
      }
    }
    if (Ignored(Signal::Note("reload")) || Ignored(0) || Ignored(SIGKILL)) {
      Fail("Ignored() true for a note or an invalid signal");
    }
  }

  void Finish() {
    last_ = "the final Reset()";
    ExpectCode(Reset(), absl::StatusCode::kOk);
    if (context_) context_->Stop();
    context_.reset();
    channels_.clear();
    for (const PoolSignal& p : Pool()) {
      const std::string diff =
          DescribeDifference(g_original[p.signo], CurrentAction(p.signo));
      if (!diff.empty()) Fail(Signal(p.signo).ToString() + ": " + diff);
    }
  }

  const std::string backend_;
  std::string last_;
  std::vector<std::unique_ptr<SignalChannel>> channels_;
  std::vector<Wants> wants_ = std::vector<Wants>(kChannels);
  std::vector<uint64_t> fanouts_;
  std::set<int> ignored_;
  std::optional<SignalContext> context_;
  Wants context_wants_;
  std::optional<Signal> context_signal_;
};

}  // namespace
}  // namespace portsig

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  portsig::SetUpOnce();
  auto backend = portsig::Backend();
  if (!backend.ok()) std::abort();
  portsig::Input input(data, size);
  portsig::Model model(*backend);
  model.Run(&input);
  return 0;
}

// A host handler portsig calls in the kernel's place, compared with the
// same program without portsig (the third hostile-host review).
//
// The route: a host handler H is installed; Notify; a library installs over
// portsig's handler, saving it; Stop (the library stays); the library
// leaves, putting back portsig's handler. The signal is then unwanted with
// portsig's handler in the kernel, so portsig runs H as the kernel would
// have: its mask, SA_RESETHAND, its arguments. Each case runs once on that
// route and once with H alone in the kernel, each in a forked child that
// writes what H saw to a pipe; the two transcripts must be equal.
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CapturedChild;
using testing::CurrentAction;
using testing::RunInChildCapturing;

constexpr absl::Duration kWatchdog = absl::Seconds(20);

// The classic signals (1..31) a mask blocks, as text. Real-time signals are
// left out: glibc and the sanitizers use some of them.
std::string MaskText(const sigset_t& mask) {
  std::string text;
  for (int s = 1; s < 32; ++s) {
    if (sigismember(&mask, s) == 1) text += std::to_string(s) + ",";
  }
  return text;
}
std::string ThreadMask() {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return MaskText(now);
}

// What H records: a fixed-size log written from the handler (no
// allocation), turned into text by the child after the signal.
struct Entry {
  sigset_t mask;
  int depth;
  bool has_info;
  int si_signo;
  int si_code;
  bool has_context;
  sigset_t context_mask;
};
constexpr int kMaxEntries = 8;
Entry g_entries[kMaxEntries];
std::atomic<int> g_count{0};
std::atomic<int> g_depth{0};
// Raise the signal again inside H this many times (nested).
std::atomic<int> g_raise_again{0};
// Raise this other signal inside H.
std::atomic<int> g_raise_other{0};
sigjmp_buf g_jump;
std::atomic<bool> g_jump_out{false};

void Record(int signo, siginfo_t* info, void* context, bool siginfo_form) {
  const int n = g_count.fetch_add(1);
  const int depth = g_depth.fetch_add(1);
  if (n < kMaxEntries) {
    Entry& e = g_entries[n];
    pthread_sigmask(SIG_BLOCK, nullptr, &e.mask);
    e.depth = depth;
    e.has_info = siginfo_form && info != nullptr;
    e.si_signo = e.has_info ? info->si_signo : 0;
    e.si_code = e.has_info ? info->si_code : 0;
    e.has_context = siginfo_form && context != nullptr;
    if (e.has_context) {
      e.context_mask = static_cast<ucontext_t*>(context)->uc_sigmask;
    }
  }
  if (g_raise_again.load() > 0) {
    g_raise_again.fetch_sub(1);
    raise(signo);
  }
  if (const int other = g_raise_other.exchange(0); other != 0) raise(other);
  g_depth.fetch_sub(1);
  if (g_jump_out.load()) {
    g_jump_out.store(false);
    siglongjmp(g_jump, 1);
  }
}
void PlainH(int signo) { Record(signo, nullptr, nullptr, false); }
void InfoH(int signo, siginfo_t* info, void* context) {
  Record(signo, info, context, true);
}

std::string Transcript() {
  std::string text;
  const int n = g_count.load();
  text += "runs=" + std::to_string(n) + "\n";
  for (int i = 0; i < n && i < kMaxEntries; ++i) {
    const Entry& e = g_entries[i];
    text += "  depth=" + std::to_string(e.depth) + " mask=" + MaskText(e.mask);
    if (e.has_info) {
      text += " si_signo=" + std::to_string(e.si_signo) +
              " si_code=" + std::to_string(e.si_code);
    }
    if (e.has_context) text += " uc_sigmask=" + MaskText(e.context_mask);
    text += "\n";
  }
  return text;
}

// The child's pipe, and what a case adds to its transcript.
int g_fd = -1;
std::string g_extra;
// Writes the transcript so far (a case that dies writes it before).
void Emit(const char* where) {
  const std::string text = std::string(where) + ": " + Transcript() +
                           "after=" + ThreadMask() + " " + g_extra + "\n";
  (void)!write(g_fd, text.data(), text.size());
}

// A library that replaced portsig's handler and chains to it, passing its
// arguments through.
struct sigaction g_lib_prev;
void LibraryInfo(int signo, siginfo_t* info, void* context) {
  g_lib_prev.sa_sigaction(signo, info, context);
}

// Puts portsig's handler in the kernel for signo with the signal unwanted,
// standing in for what is installed now (see the top comment).
void RouteThroughPortsig(int signo) {
  static SignalChannel* a = new SignalChannel(1);
  ASSERT_TRUE(Notify(*a, {signo}).ok());
  struct sigaction lib = {};
  lib.sa_sigaction = &LibraryInfo;
  lib.sa_flags = SA_SIGINFO;
  sigemptyset(&lib.sa_mask);
  ASSERT_EQ(sigaction(signo, &lib, &g_lib_prev), 0);
  Stop(*a);
  ASSERT_EQ(sigaction(signo, &g_lib_prev, nullptr), 0);
  const struct sigaction now = CurrentAction(signo);
  ASSERT_TRUE((now.sa_flags & SA_SIGINFO) && now.sa_sigaction != &InfoH &&
              now.sa_handler != &PlainH)
      << "portsig's handler is not in place";
}

void InstallH(int signo, bool siginfo_form, int flags, bool mask_usr2) {
  struct sigaction h = {};
  if (siginfo_form) {
    h.sa_sigaction = &InfoH;
    h.sa_flags = SA_SIGINFO | flags;
  } else {
    h.sa_handler = &PlainH;
    h.sa_flags = flags;
  }
  sigemptyset(&h.sa_mask);
  if (mask_usr2) sigaddset(&h.sa_mask, SIGUSR2);
  ASSERT_EQ(sigaction(signo, &h, nullptr), 0);
}

// Runs `body` (which installs H and raises) without and with portsig's
// route between, and expects both children to write the same transcript
// and end the same way. `route` is called by body where portsig goes.
void CompareWithKernel(
    const std::function<void(const std::function<void()>& route)>& body,
    const std::string& what) {
  std::string transcripts[2];
  std::string endings[2];
  for (int with_portsig = 0; with_portsig < 2; ++with_portsig) {
    CapturedChild child = RunInChildCapturing([&](int fd) {
      g_fd = fd;
      body([&] {
        if (with_portsig) RouteThroughPortsig(SIGUSR1);
      });
      Emit("end");
    });
    transcripts[with_portsig] = child.output;
    endings[with_portsig] = child.status.ToString();
  }
  EXPECT_EQ(transcripts[1], transcripts[0])
      << what << "\nwith portsig (first) and the kernel alone differ";
  EXPECT_EQ(endings[1], endings[0]) << what;
}

// sa_mask, SA_NODEFER, SA_RESETHAND and SA_SIGINFO in every combination,
// the interrupted code blocking SIGTERM: H sees the same mask, siginfo and
// context; the thread's mask is the same afterwards; after SA_RESETHAND a
// second signal takes the default action (the child dies by SIGUSR1),
// otherwise H runs again.
TEST(KernelPlaceTest, FlagsAndMasksAsTheKernelGivesThem) {
  for (bool siginfo_form : {false, true}) {
    for (int flags :
         {0, static_cast<int>(SA_NODEFER), static_cast<int>(SA_RESETHAND),
          static_cast<int>(SA_RESETHAND | SA_NODEFER)}) {
      for (bool mask_usr2 : {false, true}) {
        const std::string what =
            std::string(siginfo_form ? "SA_SIGINFO" : "plain") +
            " flags=" + std::to_string(flags) +
            (mask_usr2 ? " sa_mask={USR2}" : " sa_mask={}");
        CompareWithKernel(
            [&](const std::function<void()>& route) {
              InstallH(SIGUSR1, siginfo_form, flags, mask_usr2);
              route();
              sigset_t term;
              sigemptyset(&term);
              sigaddset(&term, SIGTERM);
              pthread_sigmask(SIG_BLOCK, &term, nullptr);
              raise(SIGUSR1);
              if (flags & SA_RESETHAND) {
                // Reset puts back what portsig stood in for: SIG_DFL now.
                // (Without portsig there is nothing to reset.)
                ASSERT_TRUE(Reset({SIGUSR1}).ok());
                const struct sigaction now = CurrentAction(SIGUSR1);
                EXPECT_EQ(now.sa_handler, SIG_DFL);
              }
              Emit("mid");
#ifdef PORTSIG_TSAN
              // gcc 12's TSan takes a SIG_DFL installed with SA_SIGINFO for
              // a handler and the default action never comes (10 lines
              // without portsig: sigaction {SIG_DFL, SA_SIGINFO}, raise,
              // still alive). The kernel leaves SA_SIGINFO in place as it
              // resets, and portsig's Reset puts that back through TSan.
              if (siginfo_form && (flags & SA_RESETHAND)) return;
#endif
              raise(SIGUSR1);  // Dies here after SA_RESETHAND.
            },
            what);
      }
    }
  }
}

// H raises its own signal inside itself: deferred until it returns without
// SA_NODEFER, nested at once with it. Same order, depths and masks.
TEST(KernelPlaceTest, TheSameSignalRaisedInsideTheHandler) {
  for (bool nodefer : {false, true}) {
    for (bool siginfo_form : {false, true}) {
      CompareWithKernel(
          [&](const std::function<void()>& route) {
            InstallH(SIGUSR1, siginfo_form, nodefer ? SA_NODEFER : 0, true);
            route();
            g_raise_again.store(2);
            raise(SIGUSR1);
          },
          std::string(nodefer ? "SA_NODEFER" : "no SA_NODEFER") +
              (siginfo_form ? " SA_SIGINFO" : " plain"));
    }
  }
}

// H raises another signal, one a channel wants: the channel gets it, H
// runs once, and the thread's mask is back afterwards.
TEST(KernelPlaceTest, ASignalPortsigWantsRaisedInsideTheHandler) {
  auto child = RunInChildCapturing([](int) {
    InstallH(SIGUSR1, false, 0, false);
    RouteThroughPortsig(SIGUSR1);
    SignalChannel b(4);
    ASSERT_TRUE(Notify(b, {SIGUSR2}).ok());
    const std::string before = ThreadMask();
    g_raise_other.store(SIGUSR2);
    raise(SIGUSR1);
    EXPECT_EQ(g_count.load(), 1);
    EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGUSR2));
    EXPECT_EQ(ThreadMask(), before);
  });
  EXPECT_TRUE(child.status.exited_ok()) << child.status.ToString();
}

// Recursion with a frame big enough that a handler entered at its bottom
// is far below one entered from the caller.
__attribute__((noinline)) void RaiseDeep(int signo, int levels) {
  volatile char pad[2048];
  pad[0] = static_cast<char>(levels);
  if (levels == 0) {
    raise(signo);
  } else {
    RaiseDeep(signo, levels - 1);
  }
  pad[1] = pad[0];
}

// H siglongjmps out (sigsetjmp saving the mask or not): the thread's mask
// afterwards is what the kernel leaves, and the next signal, raised deeper
// in the stack than the first, is H's again.
TEST(KernelPlaceTest, AHandlerThatJumpsOutLeavesTheKernelsMask) {
  for (int savemask : {1, 0}) {
    CompareWithKernel(
        [&](const std::function<void()>& route) {
          InstallH(SIGUSR1, true, 0, true);
          route();
          if (sigsetjmp(g_jump, savemask) == 0) {
            g_jump_out.store(true);
            raise(SIGUSR1);
            ADD_FAILURE() << "H did not jump";
          }
          g_extra = "jumped=" + ThreadMask();
          // Without the mask saved the signal is still blocked; the host
          // opens it again.
          sigset_t usr;
          sigemptyset(&usr);
          sigaddset(&usr, SIGUSR1);
          sigaddset(&usr, SIGUSR2);
          pthread_sigmask(SIG_UNBLOCK, &usr, nullptr);
          RaiseDeep(SIGUSR1, 8);
          g_depth.store(0);
        },
        std::string("savemask=") + std::to_string(savemask));
  }
}

// After H jumped out of portsig's call, a signal that is wanted again
// reaches the channel, even raised deeper in the stack than the first
// (portsig's record of its call into H must not outlive the jump).
TEST(KernelPlaceTest, AWantedSignalAfterTheHandlerJumpedOutIsRelayed) {
  for (int savemask : {1, 0}) {
    auto child = RunInChildCapturing([savemask](int) {
      InstallH(SIGUSR1, true, 0, false);
      RouteThroughPortsig(SIGUSR1);
      if (sigsetjmp(g_jump, savemask) == 0) {
        g_jump_out.store(true);
        raise(SIGUSR1);
        ADD_FAILURE() << "H did not jump";
      }
      g_depth.store(0);
      sigset_t usr;
      sigemptyset(&usr);
      sigaddset(&usr, SIGUSR1);
      pthread_sigmask(SIG_UNBLOCK, &usr, nullptr);
      ASSERT_EQ(g_count.load(), 1);
      SignalChannel b(4);
      ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
      RaiseDeep(SIGUSR1, 8);
      EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGUSR1))
          << "the signal was not relayed";
      EXPECT_EQ(g_count.load(), 1) << "H ran for a wanted signal";
    });
    EXPECT_TRUE(child.status.exited_ok())
        << "savemask=" << savemask << ": " << child.status.ToString();
  }
}

// The same cases from a thread other than main, main blocking the signal:
// the signal raised in the thread runs H there with the same mask.
TEST(KernelPlaceTest, FromAnotherThreadWithMainBlockingTheSignal) {
  for (int flags :
       {0, static_cast<int>(SA_NODEFER), static_cast<int>(SA_RESETHAND)}) {
    CompareWithKernel(
        [&](const std::function<void()>& route) {
          InstallH(SIGUSR1, true, flags, true);
          route();
          sigset_t usr1;
          sigemptyset(&usr1);
          sigaddset(&usr1, SIGUSR1);
          pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
          std::string in_thread;
          std::thread([&] {
            pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
            raise(SIGUSR1);
            in_thread = ThreadMask();
          }).join();
          g_extra = "thread's mask after=" + in_thread;
          pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
        },
        "flags=" + std::to_string(flags));
  }
}

// Libraries that saved what they replaced with signal() and call it as a
// plain function, three deep over portsig's handler, the top one a
// SA_SIGINFO library (so the kernel passes siginfo to the chain's top, and
// portsig, called plainly at the bottom, gets whatever the registers hold).
std::atomic<int> g_layer_runs[4];
void (*g_l1_prev)(int) = nullptr;
void (*g_l2_prev)(int) = nullptr;
struct sigaction g_l3_prev;
std::atomic<bool> g_garbage{false};
void H0(int) { g_layer_runs[0].fetch_add(1); }
void L1(int signo) {
  g_layer_runs[1].fetch_add(1);
  if (g_l1_prev == SIG_DFL || g_l1_prev == SIG_IGN) return;
  if (g_garbage.load()) {
    // What a plain call leaves in the siginfo and context argument slots
    // is anything: here, deliberately, no pointer at all.
    reinterpret_cast<void (*)(int, uintptr_t, uintptr_t)>(g_l1_prev)(
        signo, 0x10, 0x18);
  } else {
    g_l1_prev(signo);
  }
}
void L2(int signo) {
  g_layer_runs[2].fetch_add(1);
  if (g_l2_prev != SIG_DFL && g_l2_prev != SIG_IGN) g_l2_prev(signo);
}
void L3(int signo, siginfo_t* info, void* context) {
  g_layer_runs[3].fetch_add(1);
  if (g_l3_prev.sa_flags & SA_SIGINFO) {
    g_l3_prev.sa_sigaction(signo, info, context);
  } else if (g_l3_prev.sa_handler != SIG_DFL &&
             g_l3_prev.sa_handler != SIG_IGN) {
    g_l3_prev.sa_handler(signo);
  }
}

TEST(KernelPlaceTest, SignalSavedChainsSeveralLayersDeep) {
  // Kernel alone first: a child forked after a failure would inherit it.
  for (bool with_portsig : {false, true}) {
    for (bool garbage : {false, true}) {
      auto child = RunInChildCapturing([garbage, with_portsig](int) {
        g_garbage.store(garbage);
        ASSERT_NE(signal(SIGUSR1, &H0), SIG_ERR);
        SignalChannel a(1), b(1);
        if (with_portsig) {
          ASSERT_TRUE(Notify(a, {SIGUSR1}).ok());
        }
        g_l1_prev = signal(SIGUSR1, &L1);
        g_l2_prev = signal(SIGUSR1, &L2);
        struct sigaction l3 = {};
        l3.sa_sigaction = &L3;
        l3.sa_flags = SA_SIGINFO;
        sigemptyset(&l3.sa_mask);
        ASSERT_EQ(sigaction(SIGUSR1, &l3, &g_l3_prev), 0);
        if (with_portsig) Stop(a);
        raise(SIGUSR1);
        for (int i = 0; i < 4; ++i) {
          EXPECT_EQ(g_layer_runs[i].load(), 1) << "layer " << i;
        }
        if (!with_portsig) return;
        // A new subscription stands in for L3; a wanted signal reaches it
        // and runs no layer.
        ASSERT_TRUE(Notify(b, {SIGUSR1}).ok());
        raise(SIGUSR1);
        EXPECT_EQ(b.ReceiveFor(kWatchdog), Signal(SIGUSR1));
        for (int i = 0; i < 4; ++i) {
          EXPECT_EQ(g_layer_runs[i].load(), 1) << "layer " << i;
        }
        Stop(b);
        raise(SIGUSR1);
        EXPECT_EQ(g_layer_runs[0].load(), 2);
        EXPECT_EQ(g_layer_runs[3].load(), 2);
      });
      EXPECT_TRUE(child.status.exited_ok())
          << (garbage ? "garbage registers" : "clean registers")
          << (with_portsig ? ", with portsig: " : ", kernel alone: ")
          << child.status.ToString();
    }
  }
}

}  // namespace
}  // namespace portsig

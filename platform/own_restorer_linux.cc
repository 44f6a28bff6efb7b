// Linux: on x86-64 with glibc (not x32, not under ThreadSanitizer) a
// restorer of portsig's own and rt_sigaction(2) called directly, since the
// C library's sigaction() puts its own restorer in; elsewhere what
// own_restorer_posix.cc does. Under ThreadSanitizer the kernel never calls
// portsig's handler: TSan's sigaction interceptor installs its own and
// calls portsig's later, so going around that interceptor would break
// TSan's signal handling. The same holds for any sigaction() that stands
// between portsig and the C library's at run time, whatever portsig was
// built with: a sanitizer runtime's (a TSan or MSan program linking a
// portsig built without it; ASan's enforces allow_user_segv_handler=0),
// the JVM's libjsig, a library preloaded to watch or chain signals. There
// portsig goes through sigaction() too (SigactionIsTheCLibrarys).
#include "platform/own_restorer.h"
#include "platform/sanitizers.h"

#if defined(__x86_64__) && !defined(__ILP32__) && defined(__GLIBC__) && \
    !defined(PORTSIG_TSAN)
#define PORTSIG_OWN_RESTORER 1
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

// glibc's own sigaction (exported, not declared in its headers).
extern "C" int __sigaction(int signo, const struct sigaction* action,
                           struct sigaction* old);
#endif

#ifdef PORTSIG_OWN_RESTORER
// The kernel's return path from a handler: rt_sigreturn(2), in the exact
// instructions of the C library's own restorer. Unwinders (libgcc's, which
// backtrace() and exceptions use, and gdb's) recognise a signal frame by
// them, or, for gdb, by a name holding "sigaction". The nop before it is
// where an unwinder looks (the return address minus one) for the unwind
// entry of the code that "called" the handler: no entry covers it, so the
// unwinder falls back to those instructions rather than take the entry of
// whatever code happens to come before.
extern "C" void portsig_sigaction_restorer()
    __attribute__((visibility("hidden")));
asm(".pushsection .text.portsig_sigaction_restorer,\"ax\",@progbits\n"
    "  .p2align 4\n"
    "  nop\n"
    "  .globl portsig_sigaction_restorer\n"
    "  .hidden portsig_sigaction_restorer\n"
    "  .type portsig_sigaction_restorer, @function\n"
    "portsig_sigaction_restorer:\n"
    // movq $15, %rax (__NR_rt_sigreturn); syscall.
    "  .byte 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00\n"
    "  .byte 0x0f, 0x05\n"
    "  .size portsig_sigaction_restorer, . - portsig_sigaction_restorer\n"
    ".popsection\n");
#endif

namespace portsig {
namespace platform {

#ifdef PORTSIG_OWN_RESTORER
namespace {

// The kernel's struct sigaction on x86-64 (not the C library's: its mask is
// the kernel's 64 bits, and the restorer is a field the kernel uses).
struct KernelSigaction {
  void (*handler)(int, siginfo_t*, void*);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

// The kernel calls the restorer this names rather than its own (x86-64 has
// no default one).
constexpr unsigned long kSaRestorer = 0x04000000;

// Whether portsig's calls of sigaction() reach the C library's own: its
// address as portsig's code is bound to it is glibc's __sigaction, of which
// glibc's sigaction is an alias. An interposer (the executable's own
// sigaction, a preloaded library's, a sanitizer runtime's) is bound first
// and has an address of its own. So is a non-PIE executable's canonical PLT
// entry, which only costs the handler's fast path. Address comparisons
// only: async-signal-safe, and right from before main().
bool SigactionIsTheCLibrarys() {
  const void* bound = reinterpret_cast<const void*>(&::sigaction);
  const void* libc = reinterpret_cast<const void*>(&__sigaction);
  // Two declared functions may be taken by the compiler for two addresses.
  asm("" : "+r"(bound));
  asm("" : "+r"(libc));
  return bound == libc;
}

}  // namespace
#endif

bool HasOwnRestorer() {
#ifdef PORTSIG_OWN_RESTORER
  return SigactionIsTheCLibrarys();
#else
  return false;
#endif
}

int SigactionWithOwnRestorer(int signo, const struct sigaction& action) {
#ifdef PORTSIG_OWN_RESTORER
  // An interposer must see portsig's installation like any other.
  if (SigactionIsTheCLibrarys()) {
    KernelSigaction kernel;
    kernel.handler = action.sa_sigaction;
    kernel.flags = static_cast<unsigned long>(action.sa_flags) | kSaRestorer;
    kernel.restorer = &portsig_sigaction_restorer;
    // The first 64 signals: glibc's sigset_t begins with the kernel's.
    static_assert(sizeof(action.sa_mask) >= sizeof(kernel.mask));
    std::memcpy(&kernel.mask, &action.sa_mask, sizeof(kernel.mask));
    const long result =
        syscall(SYS_rt_sigaction, signo, &kernel, nullptr, sizeof(kernel.mask));
    return result == 0 ? 0 : -1;
  }
#endif
  return sigaction(signo, &action, nullptr);
}

bool IsOwnRestorer(const void* return_address) {
#ifdef PORTSIG_OWN_RESTORER
  return return_address ==
         reinterpret_cast<const void*>(&portsig_sigaction_restorer);
#else
  (void)return_address;
  return false;
#endif
}

int SigactionAsRead(int signo, const struct sigaction& read) {
  if (IsOwnRestorer(reinterpret_cast<const void*>(read.sa_restorer))) {
    return SigactionWithOwnRestorer(signo, read);
  }
  return sigaction(signo, &read, nullptr);
}

}  // namespace platform
}  // namespace portsig

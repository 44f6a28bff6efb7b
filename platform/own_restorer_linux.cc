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
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

// glibc's own sigaction (exported, not declared in its headers).
extern "C" int __sigaction(int signo, const struct sigaction* action,
                           struct sigaction* old);
#endif

#ifdef PORTSIG_OWN_RESTORER
// The kernel's return path from a handler: rt_sigreturn(2), in the exact
// instructions of the C library's own restorer, with the unwind entry the
// C library gives its own (glibc's sysdeps/unix/sysv/linux/x86_64/
// libc_sigaction.c). Unwinders walk out of a handler through it to the
// interrupted code: gdb knows a signal frame by those instructions and a
// name holding "sigaction"; libgcc's (backtrace(), exceptions) and
// libunwind's (profilers, crash reporters) look up the unwind entry at the
// return address minus one, the nop, as if a call had been there. Without
// an entry libgcc falls back to those instructions too, but libunwind
// stopped there: 2 frames from a handler where glibc's restorer gave 9.
//
// The entry (a CIE of its own, augmentation "zRS": S, a signal frame, so
// the interrupted instruction is not taken for a return address) says the
// interrupted registers are in the ucontext_t that the stack pointer points
// at once the handler has returned into the restorer: the CFA is its saved
// %rsp, and each register is at its mcontext slot. Hand-written bytes, as
// glibc's, so no assembler or compiler option (.cfi_sections) decides
// where it goes. The section is named without a type: the assembler gives
// .eh_frame its own (gas and clang's type it @unwind on x86-64, but gcc
// with -fno-dwarf2-cfi-asm writes its own .eh_frame as @progbits), and a
// type that differs from the one already given is an error.
extern "C" void portsig_sigaction_restorer()
    __attribute__((visibility("hidden")));

// clang-format off
// DW_CFA_expression dwarf, { DW_OP_breg7 (%rsp) 40 + 8 * greg }: the
// register DWARF numbers `dwarf` is in the ucontext's mcontext slot `greg`
// (REG_*, checked below).
#define PORTSIG_SAVED_AT(dwarf, greg) \
  "  .byte 0x10\n" \
  "  .uleb128 " #dwarf "\n" \
  "  .uleb128 2f-1f\n" \
  "1: .byte 0x77\n" \
  "  .sleb128 40+8*" #greg "\n" \
  "2:\n"
// r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip.
#define PORTSIG_SAVED_REGISTERS \
  PORTSIG_SAVED_AT(8, 0) PORTSIG_SAVED_AT(9, 1) PORTSIG_SAVED_AT(10, 2) \
  PORTSIG_SAVED_AT(11, 3) PORTSIG_SAVED_AT(12, 4) PORTSIG_SAVED_AT(13, 5) \
  PORTSIG_SAVED_AT(14, 6) PORTSIG_SAVED_AT(15, 7) PORTSIG_SAVED_AT(5, 8) \
  PORTSIG_SAVED_AT(4, 9) PORTSIG_SAVED_AT(6, 10) PORTSIG_SAVED_AT(3, 11) \
  PORTSIG_SAVED_AT(1, 12) PORTSIG_SAVED_AT(0, 13) PORTSIG_SAVED_AT(2, 14) \
  PORTSIG_SAVED_AT(7, 15) PORTSIG_SAVED_AT(16, 16)
// clang-format on

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
    ".Lportsig_restorer_end:\n"
    "  .size portsig_sigaction_restorer, . - portsig_sigaction_restorer\n"
    ".popsection\n"
    ".pushsection .eh_frame,\"a\"\n"
    ".Lportsig_restorer_cie:\n"
    "  .long .Lportsig_restorer_cie_end - .Lportsig_restorer_cie_id\n"
    ".Lportsig_restorer_cie_id:\n"
    "  .long 0\n"          // A CIE.
    "  .byte 1\n"          // Version.
    "  .string \"zRS\"\n"  // Augmentation.
    "  .uleb128 1\n"       // Code alignment factor.
    "  .sleb128 -8\n"      // Data alignment factor.
    "  .uleb128 16\n"      // Return address column: %rip.
    "  .uleb128 1\n"       // Augmentation data: 1 byte,
    "  .byte 0x1b\n"       // FDE addresses pc-relative, 4 bytes.
    "  .balign 8\n"
    ".Lportsig_restorer_cie_end:\n"
    "  .long .Lportsig_restorer_fde_end - .Lportsig_restorer_fde_cie\n"
    ".Lportsig_restorer_fde_cie:\n"
    "  .long .Lportsig_restorer_fde_cie - .Lportsig_restorer_cie\n"
    // From the nop before the restorer to its end.
    "  .long (portsig_sigaction_restorer - 1) - .\n"
    "  .long .Lportsig_restorer_end - (portsig_sigaction_restorer - 1)\n"
    "  .uleb128 0\n"  // No augmentation data.
    // CFA: DW_CFA_def_cfa_expression { DW_OP_breg7 (%rsp) saved %rsp;
    // DW_OP_deref }.
    "  .byte 0x0f\n"
    "  .uleb128 2f-1f\n"
    "1: .byte 0x77\n"
    "  .sleb128 40+8*15\n"
    "  .byte 0x06\n"
    "2:\n" PORTSIG_SAVED_REGISTERS
    "  .balign 8\n"
    ".Lportsig_restorer_fde_end:\n"
    ".popsection\n");
#undef PORTSIG_SAVED_REGISTERS
#undef PORTSIG_SAVED_AT

// What the unwind entry above assumes of the ucontext_t the kernel puts on
// the stack: the general registers from byte 40, in this order.
static_assert(offsetof(ucontext_t, uc_mcontext.gregs) == 40);
static_assert(REG_R8 == 0 && REG_R9 == 1 && REG_R10 == 2 && REG_R11 == 3 &&
              REG_R12 == 4 && REG_R13 == 5 && REG_R14 == 6 && REG_R15 == 7 &&
              REG_RDI == 8 && REG_RSI == 9 && REG_RBP == 10 && REG_RBX == 11 &&
              REG_RDX == 12 && REG_RAX == 13 && REG_RCX == 14 &&
              REG_RSP == 15 && REG_RIP == 16);
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

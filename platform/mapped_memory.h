// Reading memory through a pointer that may hold no address at all,
// without faulting. For portsig's signal handler: a host handler chaining
// into it passes on arguments that may be the kernel's siginfo and context
// or whatever its registers held (a library that saved portsig's handler
// with signal() calls it as a plain function).
//
// Two implementations behind this header, chosen by --//platform:os (CMake:
// PORTSIG_OS): linux (mapped_memory_linux.cc) copies with
// process_vm_readv(2) on the calling process, which fails with EFAULT
// instead of faulting; posix (mapped_memory_posix.cc) has no such call and
// cannot say.
#ifndef PORTSIG_PLATFORM_MAPPED_MEMORY_H_
#define PORTSIG_PLATFORM_MAPPED_MEMORY_H_

#include <stddef.h>

namespace portsig {
namespace platform {

enum class CopyResult {
  kCopied,     // every byte was readable, and is in `to`
  kNotMapped,  // some byte was not readable; `to` is unspecified
  kUnknown,    // the system cannot say (no such call, or it was refused)
};

// Copies `size` bytes at `from` into `to` if all are readable. Never
// faults. Async-signal-safe; errno may change.
CopyResult CopyIfMapped(void* to, const void* from, size_t size);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_MAPPED_MEMORY_H_

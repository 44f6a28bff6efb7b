// Reading possibly unmapped memory on Linux. See mapped_memory.h.
#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "platform/mapped_memory.h"

namespace portsig {
namespace platform {

CopyResult CopyIfMapped(void* to, const void* from, size_t size) {
  // process_vm_readv on the calling process: the kernel copies, and
  // reports an unreadable source as EFAULT rather than faulting. Reading
  // one's own process is always permitted (ptrace's access check passes
  // for the same thread group); a seccomp filter may still refuse the call
  // (EPERM, ENOSYS), and then nobody can say. A raw system call: nothing
  // of the C library runs in the signal handler.
  struct iovec local = {to, size};
  struct iovec remote = {const_cast<void*>(from), size};
  const long copied =
      syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
  if (copied == static_cast<long>(size)) return CopyResult::kCopied;
  if (copied >= 0 || errno == EFAULT) return CopyResult::kNotMapped;
  return CopyResult::kUnknown;
}

}  // namespace platform
}  // namespace portsig

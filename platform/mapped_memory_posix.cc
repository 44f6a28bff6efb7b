// Reading possibly unmapped memory where POSIX is all there is. See
// mapped_memory.h.
#include "platform/mapped_memory.h"

namespace portsig {
namespace platform {

CopyResult CopyIfMapped(void*, const void*, size_t) {
  // POSIX has no call that reads memory and reports a bad address instead
  // of faulting (write(2) to a pipe would, but needs a descriptor kept
  // open for it).
  return CopyResult::kUnknown;
}

}  // namespace platform
}  // namespace portsig

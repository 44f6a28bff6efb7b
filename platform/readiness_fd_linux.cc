// ReadinessFd on Linux: one eventfd, readable while its counter is
// non-zero. See readiness_fd.h.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "platform/readiness_fd.h"

namespace portsig {
namespace platform {

int ReadinessFd::Open() {
  Close();
  read_fd_ = write_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return read_fd_;
}

void ReadinessFd::Close() {
  if (read_fd_ >= 0) close(read_fd_);
  read_fd_ = write_fd_ = -1;
}

void ReadinessFd::Set() {
  if (write_fd_ < 0) return;
  uint64_t one = 1;
  while (write(write_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void ReadinessFd::Clear() {
  if (read_fd_ < 0) return;
  uint64_t value;
  while (read(read_fd_, &value, sizeof(value)) < 0 && errno == EINTR) {
  }
}

}  // namespace platform
}  // namespace portsig

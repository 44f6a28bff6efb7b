// ReadinessFd on any POSIX system: a pipe, readable while a byte is in it.
// See readiness_fd.h.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "platform/readiness_fd.h"

namespace portsig {
namespace platform {
namespace {

bool SetFlags(int fd) {
  const int status = fcntl(fd, F_GETFL);
  const int descriptor = fcntl(fd, F_GETFD);
  return status >= 0 && descriptor >= 0 &&
         fcntl(fd, F_SETFL, status | O_NONBLOCK) == 0 &&
         fcntl(fd, F_SETFD, descriptor | FD_CLOEXEC) == 0;
}

}  // namespace

int ReadinessFd::Open() {
  Close();
  int fds[2];
  if (pipe(fds) != 0) return -1;
  if (!SetFlags(fds[0]) || !SetFlags(fds[1])) {
    const int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return -1;
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  return read_fd_;
}

void ReadinessFd::Close() {
  if (read_fd_ >= 0) close(read_fd_);
  if (write_fd_ >= 0) close(write_fd_);
  read_fd_ = write_fd_ = -1;
}

void ReadinessFd::Set() {
  if (write_fd_ < 0) return;
  // One byte is enough; a full pipe (never, with one byte per Set) is
  // readable already.
  const char byte = 1;
  while (write(write_fd_, &byte, 1) < 0 && errno == EINTR) {
  }
}

void ReadinessFd::Clear() {
  if (read_fd_ < 0) return;
  // Every byte, so a Set repeated while set leaves nothing behind.
  char bytes[64];
  for (;;) {
    const ssize_t n = read(read_fd_, bytes, sizeof(bytes));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
}

}  // namespace platform
}  // namespace portsig

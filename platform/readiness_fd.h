// ReadinessFd: a descriptor that polls readable while it is set, which is
// what the ReadyFd() of SignalChannel, ChannelGroup and SignalContext hands
// to epoll/poll/libuv/Asio loops.
//
// Two implementations behind this header, chosen by --//platform:os (CMake:
// PORTSIG_OS): linux (readiness_fd_linux.cc) is one eventfd; posix
// (readiness_fd_posix.cc), for any POSIX system, is a pipe whose read end
// is the descriptor and whose write end it keeps. Both are non-blocking and
// close-on-exec. Not thread-safe: the owner serializes calls (the channel,
// group or context holds its lock).
#ifndef PORTSIG_PLATFORM_READINESS_FD_H_
#define PORTSIG_PLATFORM_READINESS_FD_H_

namespace portsig {
namespace platform {

class ReadinessFd {
 public:
  ReadinessFd() = default;
  ~ReadinessFd() { Close(); }
  ReadinessFd(const ReadinessFd&) = delete;
  ReadinessFd& operator=(const ReadinessFd&) = delete;

  // Opens a new, unset descriptor (closing this process's copy of any
  // earlier one, e.g. one inherited over fork). Returns it, or -1 with
  // errno set.
  int Open();
  // Closes this process's copy; fd() is -1 after.
  void Close();
  // The descriptor to poll, or -1.
  int fd() const { return read_fd_; }
  // Makes fd() readable; calling it again while set is harmless.
  void Set();
  // Makes fd() not readable.
  void Clear();

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;  // The eventfd is both ends: read_fd_ == write_fd_.
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_READINESS_FD_H_

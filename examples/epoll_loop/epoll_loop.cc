// epoll_loop: signals and sockets in one event loop, through a
// ChannelGroup: one channel per purpose (reload, terminate), one
// descriptor for all of them in the epoll set. (With a single channel,
// SignalChannel::ReadyFd() is that descriptor.)
//
// Promises:
// - Prints "epoll_loop: ready pid=N" once SIGUSR1 and SIGTERM are caught.
// - Serves one end of a socket pair that a client thread writes a message
//   to every 20 ms; prints the first message it reads
//   ("epoll_loop: socket says tick 1") and counts the rest.
// - Prints "epoll_loop: SIGUSR1 (reload)" for each SIGUSR1.
// - On SIGTERM prints "epoll_loop: SIGTERM (exiting)", then a summary
//     epoll_loop: saw SIGUSR1 x1, SIGTERM x1 and 42 socket messages
//   and exits 0.
// The signals and the socket wake the same epoll_wait: no signal handler
// code, no self-pipe, no thread blocked in Receive, and however many
// channels join the group, one epoll registration and one wake-up per
// signal.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "os_signal/signal.h"

namespace {

// Writes "tick N\n" until the server end closes.
void Client(int fd) {
  for (int n = 1;; ++n) {
    std::string message = "tick " + std::to_string(n) + "\n";
    // MSG_NOSIGNAL: the server closing its end is the normal way to stop,
    // and must not raise SIGPIPE.
    if (send(fd, message.data(), message.size(), MSG_NOSIGNAL) < 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  close(fd);
}

bool Watch(int epoll_fd, int fd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0;
}

int Fail(const char* what) {
  std::fprintf(stderr, "epoll_loop: %s: %s\n", what, std::strerror(errno));
  return 1;
}

int FailStatus(const absl::Status& status) {
  std::fprintf(stderr, "epoll_loop: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main() {
  // Each part of a program subscribes its own channel; the loop watches
  // them all through one group.
  portsig::SignalChannel reload(8), terminate(1);
  portsig::ChannelGroup signals;
  for (auto [channel, signo] :
       {std::pair{&reload, SIGUSR1}, std::pair{&terminate, SIGTERM}}) {
    if (absl::Status s = portsig::Notify(*channel, {signo}); !s.ok()) {
      return FailStatus(s);
    }
    if (absl::Status s = signals.Add(channel); !s.ok()) return FailStatus(s);
  }
  absl::StatusOr<int> signal_fd = signals.ReadyFd();
  if (!signal_fd.ok()) return FailStatus(signal_fd.status());

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Fail("socketpair");
  }
  const int server = pair[0];
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Fail("epoll_create1");
  if (!Watch(epoll_fd, *signal_fd) || !Watch(epoll_fd, server)) {
    return Fail("epoll_ctl");
  }
  std::thread client(Client, pair[1]);

  std::printf("epoll_loop: ready pid=%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);

  int usr1 = 0, term = 0;
  long messages = 0;
  std::string partial;
  while (term == 0) {
    epoll_event events[4];
    int n = epoll_wait(epoll_fd, events, 4, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("epoll_wait");
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == *signal_fd) {
        // Readable means some member holds a signal. Take everything from
        // every ready member: the descriptor stays readable until they are
        // all empty.
        portsig::SignalChannel* ready[2];
        while (size_t n = signals.ReadyChannels(absl::MakeSpan(ready))) {
          for (size_t r = 0; r < n; ++r) {
            while (std::optional<portsig::Signal> got =
                       ready[r]->TryReceive()) {
              if (ready[r] == &reload) {
                ++usr1;
                std::printf("epoll_loop: %s (reload)\n",
                            got->ToString().c_str());
              } else {
                ++term;
                std::printf("epoll_loop: %s (exiting)\n",
                            got->ToString().c_str());
              }
              std::fflush(stdout);
            }
          }
        }
      } else {
        char buffer[512];
        ssize_t got = read(server, buffer, sizeof(buffer));
        if (got == 0) {
          // The client hung up; an end-of-file descriptor would stay
          // readable and spin the loop.
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, server, nullptr);
          continue;
        }
        if (got < 0) continue;
        partial.append(buffer, got);
        for (size_t end; (end = partial.find('\n')) != std::string::npos;) {
          if (++messages == 1) {
            std::printf("epoll_loop: socket says %s\n",
                        partial.substr(0, end).c_str());
            std::fflush(stdout);
          }
          partial.erase(0, end + 1);
        }
      }
    }
  }

  // Closing the server end is what stops the client.
  close(server);
  client.join();
  close(epoll_fd);
  std::printf(
      "epoll_loop: saw SIGUSR1 x%d, SIGTERM x%d and %ld socket "
      "messages\n",
      usr1, term, messages);
  return 0;
}

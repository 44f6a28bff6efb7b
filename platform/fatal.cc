#include "platform/fatal.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>

#include "platform/signal_names.h"

namespace portsig {
namespace platform {
namespace {

// Appends to a fixed buffer, truncating: nothing here may allocate.
class Message {
 public:
  void Add(const char* text) {
    while (text != nullptr && *text != '\0' && length_ < sizeof(buffer_)) {
      buffer_[length_++] = *text++;
    }
  }
  void AddNumber(int value) {
    char digits[12];
    size_t n = 0;
    // Negated as unsigned, so INT_MIN does not overflow.
    unsigned magnitude = value < 0 ? 0u - static_cast<unsigned>(value)
                                   : static_cast<unsigned>(value);
    do {
      digits[n++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) Add("-");
    while (n > 0 && length_ < sizeof(buffer_)) buffer_[length_++] = digits[--n];
  }
  void WriteToStderr() const {
    size_t done = 0;
    while (done < length_) {
      const ssize_t wrote =
          write(STDERR_FILENO, buffer_ + done, length_ - done);
      if (wrote <= 0) return;  // Nowhere to say it; abort() still comes.
      done += static_cast<size_t>(wrote);
    }
  }

 private:
  char buffer_[256];
  size_t length_ = 0;
};

}  // namespace

void Fatal(const char* what, int signo, int err) {
  Message message;
  message.Add("portsig: ");
  message.Add(what);
  if (signo != 0 || err != 0) {
    message.Add(" (");
    if (signo != 0) {
      const char* name = SignalName(signo);
      if (name != nullptr) {
        message.Add(name);
      } else {
        message.Add("signal ");
        message.AddNumber(signo);
      }
    }
    if (err != 0) {
      message.Add(signo != 0 ? ", errno " : "errno ");
      message.AddNumber(err);
    }
    message.Add(")");
  }
  message.Add("\n");
  message.WriteToStderr();
  abort();
}

}  // namespace platform
}  // namespace portsig

// Internal: what the handler map delivers into. SignalChannel is the public
// one; NotifyContext has its own. Deliver() runs on the dispatcher thread
// under the handler map's lock, so it must not block or call back into
// portsig.
#ifndef PORTSIG_OS_SIGNAL_SUBSCRIBER_H_
#define PORTSIG_OS_SIGNAL_SUBSCRIBER_H_

namespace portsig {
struct Delivery;
namespace os_signal_internal {

class Subscriber {
 public:
  // Returns whether the subscriber took it (false: a full channel dropped
  // it).
  virtual bool Deliver(const Delivery& delivery) = 0;

 protected:
  ~Subscriber() = default;
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_SUBSCRIBER_H_

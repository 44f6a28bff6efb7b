// Internal: what the handler map delivers into. SignalChannel is the public
// one; NotifyContext has its own. Deliver() runs on whichever thread holds
// the queue's receive role (the dispatcher, a receiver spinning in Receive,
// or a Stop waiting for quiet) under the handler map's lock, so it must not
// block or call back into portsig.
#ifndef PORTSIG_OS_SIGNAL_SUBSCRIBER_H_
#define PORTSIG_OS_SIGNAL_SUBSCRIBER_H_

#include <memory>

namespace portsig {
struct Delivery;
namespace os_signal_internal {

struct Wanted;  // handler_map.h
// Deletes a Wanted where its type is complete (handler_map.cc).
struct WantedDeleter {
  void operator()(Wanted* wanted) const;
};

class Subscriber {
 public:
  // Returns whether the subscriber took it (false: a full channel dropped
  // it).
  virtual bool Deliver(const Delivery& delivery) = 0;

 protected:
  ~Subscriber() = default;

 private:
  friend class HandlerMap;
  // What the subscriber asked for: made by its first Notify, empty while it
  // wants nothing, freed with it. Kept here rather than in a map keyed by
  // subscriber, so that Notify and Stop reach it without a hash lookup.
  // Only HandlerMap touches it, under its lock, through WantedLocked and
  // FindWantedLocked, which carry the annotation this header cannot name.
  std::unique_ptr<Wanted, WantedDeleter> wanted_;
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_SUBSCRIBER_H_

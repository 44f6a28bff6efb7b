// Internal, not a public header: what the handler map delivers into. A
// SignalChannel's state is one (ChannelState), a context's another
// (ContextState). Deliver() runs on whichever thread holds the queue's
// receive role (handler_map.h: the dispatcher, a receiver spinning or
// woken in a channel's receive, a Stop waiting for quiet, ...) under the
// handler map's lock, so it must not block or call back into portsig.
#ifndef PORTSIG_OS_SIGNAL_SUBSCRIBER_H_
#define PORTSIG_OS_SIGNAL_SUBSCRIBER_H_

#include <pthread.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace portsig {
struct Delivery;
namespace os_signal_internal {

struct Wanted;  // wanted.h
// Deletes a Wanted where its type is complete (wanted.cc).
struct WantedDeleter {
  void operator()(Wanted* wanted) const;
};

// Work the handler map needs done when a subscriber takes a delivery and
// before any of its receivers can see it: the release of a subscription
// relayed once, so that a signal sent after a receiver has the first one
// finds the disposition from before portsig, not the once subscriber.
class BeforePublish {
 public:
  virtual void Run() = 0;

 protected:
  ~BeforePublish() = default;
};

class Subscriber {
 public:
  // Returns whether the subscriber took it (false: a full channel dropped
  // it). If it takes it and `before_publish` is not null, it runs it first,
  // holding the lock its receivers need to see the delivery.
  virtual bool Deliver(const Delivery& delivery,
                       BeforePublish* before_publish) = 0;
  // The object a caller owns for this subscriber (a SignalChannel, whose
  // state is the subscriber): where it lives decides stack_owner_.
  virtual const void* Home() const { return this; }

 protected:
  ~Subscriber() = default;

 private:
  friend class HandlerMap;
  friend class SignalIndex;
  // What the subscriber asked for: made by its first Notify, empty while it
  // wants nothing, freed with it. Kept here rather than in a map keyed by
  // subscriber, so that Notify and Stop reach it without a hash lookup.
  // Only HandlerMap touches it, under its lock, through WantedLocked and
  // FindWantedLocked, which carry the annotation this header cannot name.
  std::unique_ptr<Wanted, WantedDeleter> wanted_;
  // The thread on whose stack the subscriber lives, if a Notify made on
  // that thread found it there. A child forked by another thread does not
  // have that thread, and gives its stack to the next thread it makes: the
  // handler map drops such a subscriber in the child, at fork, while its
  // memory is still the parent's copy. Only HandlerMap touches it, under
  // its lock.
  std::optional<pthread_t> stack_owner_;
  // Its position in each signal's member list of the handler map's index
  // (signal_index.h), meaningful only for the signals it is a member of:
  // made by its first Notify, freed with it. Only SignalIndex touches it,
  // under the handler map's lock.
  std::unique_ptr<uint32_t[]> index_slots_;
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_SUBSCRIBER_H_

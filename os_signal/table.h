// Internal: the hash tables of os_signal's subscription state (the handler
// map and its parts), which end the process, saying so, when they cannot
// grow, rather than throw std::bad_alloc.
//
// Why: Abseil's hash tables (Debian's 20220623) are corrupt after a
// bad_alloc thrown while they grow (raw_hash_set::resize records the new
// capacity before it allocates, and a table that never held anything then
// frees memory it does not own). Thrown from inside Notify, Stop or Reset,
// such an exception reached the host with portsig's tables half changed,
// and a later call, or unwinding past a local table, aborted on a note
// missing from the index, freed a bad pointer or crashed in freed memory.
// A table that cannot grow cannot be used again either way, so it ends the
// process at once: "portsig: out of memory in a subscription table (errno
// 12)".
//
// Elements are put in by move where they own memory (strings): a copy
// made inside the table would throw after the slot was taken.
#ifndef PORTSIG_OS_SIGNAL_TABLE_H_
#define PORTSIG_OS_SIGNAL_TABLE_H_

#include <cerrno>
#include <cstddef>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "platform/fatal.h"

namespace portsig {
namespace os_signal_internal {

template <typename T>
class FatalOnOutOfMemory {
 public:
  using value_type = T;

  FatalOnOutOfMemory() = default;
  template <typename U>
  FatalOnOutOfMemory(const FatalOnOutOfMemory<U>&) {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    // The throwing operator new, caught here: a host's replacement of it
    // is used as it would be by std::allocator.
    try {
      return static_cast<T*>(::operator new(n * sizeof(T)));
    } catch (const std::bad_alloc&) {
      platform::Fatal("out of memory in a subscription table", 0, ENOMEM);
    }
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p); }

  template <typename U>
  bool operator==(const FatalOnOutOfMemory<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const FatalOnOutOfMemory<U>&) const {
    return false;
  }
};

template <typename K, typename V>
using HashMap =
    absl::flat_hash_map<K, V, typename absl::flat_hash_map<K, V>::hasher,
                        typename absl::flat_hash_map<K, V>::key_equal,
                        FatalOnOutOfMemory<std::pair<const K, V>>>;

template <typename K>
using HashSet = absl::flat_hash_set<K, typename absl::flat_hash_set<K>::hasher,
                                    typename absl::flat_hash_set<K>::key_equal,
                                    FatalOnOutOfMemory<K>>;

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_TABLE_H_

#include "tests/stress/storm/shared.h"

#include <sys/mman.h>

#include <new>

namespace portsig {
namespace storm {

const char* PhaseName(int phase) {
  static const char* const kNames[] = {
      "not started",       "setup",         "storm",
      "joining threads",   "final signals", "checking counters",
      "Reset and compare", "done"};
  return phase >= kNotStarted && phase <= kDone ? kNames[phase] : "?";
}

Shared* NewShared() {
  void* page = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return nullptr;
  return new (page) Shared();
}

}  // namespace storm
}  // namespace portsig

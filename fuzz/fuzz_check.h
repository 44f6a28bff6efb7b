// FUZZ_CHECK for the parser fuzz targets: a property that does not hold
// prints what was parsed and aborts, which libFuzzer reports with the input
// and the replay tests report as the child's death. Active in every build
// (not an assert, which NDEBUG would remove).
#ifndef PORTSIG_FUZZ_FUZZ_CHECK_H_
#define PORTSIG_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace portsig {
namespace fuzz {

[[noreturn]] inline void FailCheck(const char* condition,
                                   absl::string_view input,
                                   const std::string& detail) {
  std::fprintf(stderr, "FUZZ_CHECK failed: %s\n  input: \"%s\"\n  %s\n",
               condition, absl::CHexEscape(input).c_str(), detail.c_str());
  std::abort();
}

}  // namespace fuzz
}  // namespace portsig

// FUZZ_CHECK(condition, input, detail): `detail` is a std::string evaluated
// only on failure.
#define FUZZ_CHECK(condition, input, detail)                     \
  do {                                                           \
    if (!(condition)) {                                          \
      ::portsig::fuzz::FailCheck(#condition, (input), (detail)); \
    }                                                            \
  } while (0)

#endif  // PORTSIG_FUZZ_FUZZ_CHECK_H_

#include "tools/signal_list.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace portsig {
namespace sigwatch {

absl::StatusOr<std::vector<Signal>> ParseSignalList(absl::string_view list) {
  std::vector<Signal> signals;
  if (absl::StripAsciiWhitespace(list).empty()) {
    return absl::InvalidArgumentError(
        "--signals is empty: name at least one signal");
  }
  for (absl::string_view element : absl::StrSplit(list, ',')) {
    absl::string_view name = absl::StripAsciiWhitespace(element);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--signals=\"", list, "\" has an empty element"));
    }
    absl::StatusOr<Signal> signal = Signal::Parse(name);
    if (!signal.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--signals: ", signal.status().message()));
    }
    if (signal->is_note()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--signals: \"", name,
          "\" is a text note; only this process could post it, so sigwatch "
          "would never see it"));
    }
    if (!Contains(signals, *signal)) signals.push_back(*std::move(signal));
  }
  return signals;
}

std::string JoinSignalNames(const std::vector<Signal>& signals) {
  return absl::StrJoin(signals, ",",
                       [](std::string* out, const Signal& signal) {
                         out->append(signal.ToString());
                       });
}

bool Contains(const std::vector<Signal>& signals, const Signal& signal) {
  return std::find(signals.begin(), signals.end(), signal) != signals.end();
}

}  // namespace sigwatch
}  // namespace portsig

#include "tools/reporter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/json_line.h"

namespace portsig {
namespace sigwatch {

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--format=\"", name, "\" is not text or json"));
}

Reporter::Reporter(Format format, std::string backend,
                   std::vector<Signal> watched, Clock::time_point start,
                   FILE* out)
    : format_(format),
      backend_(std::move(backend)),
      watched_(std::move(watched)),
      start_(start),
      out_(out),
      per_signal_(watched_.size(), 0),
      per_signal_occurrences_(watched_.size(), 0) {}

double Reporter::Elapsed() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

namespace {

// CodeName() for text output, where a value cannot hold a space: an
// unnamed code ("code 5") prints as its number.
std::string TextCodeName(const Delivery& delivery) {
  std::string name = delivery.CodeName();
  if (absl::StrContains(name, ' ')) return absl::StrCat(delivery.code);
  return name;
}

}  // namespace

void Reporter::Report(const Delivery& delivery, absl::string_view action) {
  const Signal& signal = delivery.signal;
  ++count_;
  occurrences_ += delivery.occurrences;
  auto it = std::find(watched_.begin(), watched_.end(), signal);
  if (it != watched_.end()) {
    ++per_signal_[it - watched_.begin()];
    per_signal_occurrences_[it - watched_.begin()] += delivery.occurrences;
  }

  std::string line;
  if (format_ == Format::kJson) {
    JsonLine json;
    json.AddSeconds("t", Elapsed())
        .Add("signal", signal.ToString())
        .Add("number", signal.number())
        .Add("backend", backend_)
        .Add("count", count_);
    if (!action.empty()) json.Add("action", action);
    if (delivery.has_sender()) {
      json.Add("pid", static_cast<int64_t>(delivery.sender_pid))
          .Add("uid", static_cast<uint64_t>(delivery.sender_uid));
    }
    json.Add("code", delivery.CodeName()).Add("si_code", delivery.code);
    // sigqueue(1) and kill -q send an int; a pointer means nothing here.
    if (delivery.value) {
      json.Add("value", static_cast<int64_t>(delivery.value->sival_int));
    }
    json.Add("occurrences", delivery.occurrences);
    line = json.Build();
  } else {
    line =
        absl::StrFormat("%.6f %s (%d) backend=%s count=%d", Elapsed(),
                        signal.ToString(), signal.number(), backend_, count_);
    if (!action.empty()) absl::StrAppend(&line, " action=", action);
    if (delivery.has_sender()) {
      absl::StrAppend(&line, " pid=", delivery.sender_pid,
                      " uid=", delivery.sender_uid);
    }
    absl::StrAppend(&line, " code=", TextCodeName(delivery));
    if (delivery.value) {
      absl::StrAppend(&line, " value=", delivery.value->sival_int);
    }
    if (delivery.occurrences != 1) {
      absl::StrAppend(&line, " occurrences=", delivery.occurrences);
    }
  }
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void Reporter::PrintSummary(const Summary& summary) {
  if (format_ == Format::kJson) {
    std::string signals = "[";
    for (size_t i = 0; i < watched_.size(); ++i) {
      if (omit_undelivered_ && per_signal_[i] == 0) continue;
      if (signals.size() > 1) signals += ",";
      signals += JsonLine()
                     .Add("signal", watched_[i].ToString())
                     .Add("number", watched_[i].number())
                     .Add("delivered", per_signal_[i])
                     .Add("occurrences", per_signal_occurrences_[i])
                     .Build();
    }
    signals += "]";
    JsonLine json;
    json.Add("summary", true)
        .AddSeconds("t", Elapsed())
        .Add("reason", summary.reason)
        .Add("backend", backend_)
        .Add("delivered", count_)
        .Add("dropped", summary.dropped)
        .Add("dropped_occurrences", summary.dropped_occurrences)
        .Add("unread", summary.unread)
        .Add("queue_overflows", summary.queue_overflows);
    if (summary.exit_code) json.Add("exit", *summary.exit_code);
    json.Add("occurrences", occurrences_);
    json.AddRaw("signals", signals);
    std::fprintf(out_, "%s\n", json.Build().c_str());
  } else {
    for (size_t i = 0; i < watched_.size(); ++i) {
      if (omit_undelivered_ && per_signal_[i] == 0) continue;
      std::fprintf(out_, "summary %s (%d) delivered=%llu occurrences=%llu\n",
                   watched_[i].ToString().c_str(), watched_[i].number(),
                   static_cast<unsigned long long>(per_signal_[i]),
                   static_cast<unsigned long long>(per_signal_occurrences_[i]));
    }
    std::string total = absl::StrFormat(
        "summary total delivered=%d dropped=%d dropped_occurrences=%d "
        "unread=%d queue_overflows=%d reason=%s",
        count_, summary.dropped, summary.dropped_occurrences, summary.unread,
        summary.queue_overflows, summary.reason);
    if (summary.exit_code)
      absl::StrAppend(&total, " exit=", *summary.exit_code);
    absl::StrAppend(&total, " occurrences=", occurrences_);
    std::fprintf(out_, "%s\n", total.c_str());
  }
  std::fflush(out_);
}

}  // namespace sigwatch
}  // namespace portsig

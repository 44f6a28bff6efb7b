#include "tools/reporter.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

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
// Seconds rounded to the microsecond, the resolution the text format
// prints; JSON writes the shortest decimal that reads back as that value.
double JsonSeconds(double seconds) { return std::round(seconds * 1e6) / 1e6; }

// One object on one line. Invalid UTF-8 (a host-chosen string sigwatch
// passes on) is replaced, never a reason to throw.
std::string JsonLine(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

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
    nlohmann::ordered_json json;
    json["t"] = JsonSeconds(Elapsed());
    json["signal"] = signal.ToString();
    json["number"] = signal.number();
    json["backend"] = backend_;
    json["count"] = count_;
    if (!action.empty()) json["action"] = std::string(action);
    if (delivery.has_sender()) {
      json["pid"] = static_cast<int64_t>(delivery.sender_pid);
      json["uid"] = static_cast<uint64_t>(delivery.sender_uid);
    }
    json["code"] = delivery.CodeName();
    json["si_code"] = delivery.code;
    // sigqueue(1) and kill -q send an int; a pointer means nothing here.
    if (delivery.value) json["value"] = delivery.value->sival_int;
    json["occurrences"] = delivery.occurrences;
    line = JsonLine(json);
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
  Write(line + "\n");
}

void Reporter::Write(const std::string& text) {
  if (write_error_ != 0) return;
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), out_) != text.size() ||
      std::fflush(out_) != 0) {
    // stdio sets errno on a failed write; EIO should it not have.
    write_error_ = errno != 0 ? errno : EIO;
  }
}

void Reporter::PrintSummary(const Summary& summary) {
  if (format_ == Format::kJson) {
    nlohmann::ordered_json signals = nlohmann::ordered_json::array();
    for (size_t i = 0; i < watched_.size(); ++i) {
      if (omit_undelivered_ && per_signal_[i] == 0) continue;
      nlohmann::ordered_json entry;
      entry["signal"] = watched_[i].ToString();
      entry["number"] = watched_[i].number();
      entry["delivered"] = per_signal_[i];
      entry["occurrences"] = per_signal_occurrences_[i];
      signals.push_back(std::move(entry));
    }
    nlohmann::ordered_json json;
    json["summary"] = true;
    json["t"] = JsonSeconds(Elapsed());
    json["reason"] = summary.reason;
    json["backend"] = backend_;
    json["delivered"] = count_;
    json["dropped"] = summary.dropped;
    json["dropped_occurrences"] = summary.dropped_occurrences;
    json["unread"] = summary.unread;
    json["queue_overflows"] = summary.queue_overflows;
    if (summary.exit_code) json["exit"] = *summary.exit_code;
    json["occurrences"] = occurrences_;
    json["signals"] = std::move(signals);
    Write(JsonLine(json) + "\n");
  } else {
    std::string text;
    for (size_t i = 0; i < watched_.size(); ++i) {
      if (omit_undelivered_ && per_signal_[i] == 0) continue;
      absl::StrAppendFormat(&text,
                            "summary %s (%d) delivered=%d occurrences=%d\n",
                            watched_[i].ToString(), watched_[i].number(),
                            per_signal_[i], per_signal_occurrences_[i]);
    }
    std::string total = absl::StrFormat(
        "summary total delivered=%d dropped=%d dropped_occurrences=%d "
        "unread=%d queue_overflows=%d reason=%s",
        count_, summary.dropped, summary.dropped_occurrences, summary.unread,
        summary.queue_overflows, summary.reason);
    if (summary.exit_code)
      absl::StrAppend(&total, " exit=", *summary.exit_code);
    absl::StrAppend(&total, " occurrences=", occurrences_);
    Write(text + total + "\n");
  }
}

}  // namespace sigwatch
}  // namespace portsig

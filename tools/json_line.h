// JsonLine: builds one JSON object on one line, for sigwatch's --format=json
// output. Just enough JSON for flat records of strings, integers, doubles,
// booleans and pre-built arrays; strings are escaped per RFC 8259 so any
// signal name is safe to embed.
#ifndef PORTSIG_TOOLS_JSON_LINE_H_
#define PORTSIG_TOOLS_JSON_LINE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace portsig {
namespace sigwatch {

// `"text"` with quotes, backslashes and control characters escaped.
std::string JsonString(absl::string_view text);

class JsonLine {
 public:
  JsonLine& Add(absl::string_view key, absl::string_view value);
  JsonLine& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  JsonLine& Add(absl::string_view key, int64_t value);
  JsonLine& Add(absl::string_view key, uint64_t value);
  JsonLine& Add(absl::string_view key, int value) {
    return Add(key, static_cast<int64_t>(value));
  }
  JsonLine& Add(absl::string_view key, bool value);
  // Seconds with microsecond resolution, as the text format prints them.
  JsonLine& AddSeconds(absl::string_view key, double seconds);
  // `json` must already be valid JSON (an array or object).
  JsonLine& AddRaw(absl::string_view key, absl::string_view json);

  // The object, without a trailing newline.
  std::string Build() const { return "{" + body_ + "}"; }

 private:
  void Key(absl::string_view key);
  std::string body_;
};

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_JSON_LINE_H_

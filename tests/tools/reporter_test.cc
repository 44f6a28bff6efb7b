// sigwatch's Reporter in JSON: each line is one object that a JSON parser
// reads back field for field, whatever the strings hold, in the order
// tools/reporter.h documents.
#include "tools/reporter.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "os_signal/delivery.h"
#include "os_signal/signal.h"

namespace portsig {
namespace sigwatch {
namespace {

using ::testing::ElementsAre;

// Everything the reporter wrote, one string per line.
std::vector<std::string> Lines(FILE* file) {
  std::rewind(file);
  std::vector<std::string> lines;
  std::string line;
  for (int c; (c = std::fgetc(file)) != EOF;) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line += static_cast<char>(c);
    }
  }
  EXPECT_TRUE(line.empty()) << "unterminated last line: " << line;
  return lines;
}

std::vector<std::string> Keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

class ReporterJsonTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(out_, nullptr); }
  void TearDown() override {
    if (out_ != nullptr) std::fclose(out_);
  }
  FILE* out_ = std::tmpfile();
};

TEST_F(ReporterJsonTest, ADeliveryReadsBackFieldForField) {
  Reporter reporter(Format::kJson, "posix", {Signal(SIGUSR1)},
                    Reporter::Clock::now(), out_);
  Delivery delivery;
  delivery.signal = Signal(SIGUSR1);
  delivery.code = SI_QUEUE;
  delivery.sender_pid = 4242;
  delivery.sender_uid = 1000;
  delivery.value = sigval{};
  delivery.value->sival_int = -7;
  delivery.occurrences = 3;
  // An action with a quote, a backslash and a control character, as a host
  // could pass one through.
  reporter.Report(delivery, "for\"ward\\\x01");

  const std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 1u);
  const auto json = nlohmann::ordered_json::parse(lines[0]);
  EXPECT_THAT(Keys(json), ElementsAre("t", "signal", "number", "backend",
                                      "count", "action", "pid", "uid", "code",
                                      "si_code", "value", "occurrences"));
  EXPECT_TRUE(json["t"].is_number());
  EXPECT_GE(json["t"].get<double>(), 0.0);
  EXPECT_EQ(json["signal"], "SIGUSR1");
  EXPECT_EQ(json["number"], SIGUSR1);
  EXPECT_EQ(json["backend"], "posix");
  EXPECT_EQ(json["count"], 1);
  EXPECT_EQ(json["action"], "for\"ward\\\x01");
  EXPECT_EQ(json["pid"], 4242);
  EXPECT_EQ(json["uid"], 1000);
  EXPECT_EQ(json["code"], delivery.CodeName());
  EXPECT_EQ(json["si_code"], SI_QUEUE);
  EXPECT_EQ(json["value"], -7);
  EXPECT_EQ(json["occurrences"], 3);
}

TEST_F(ReporterJsonTest, AKernelSignalHasNoSenderOrValue) {
  Reporter reporter(Format::kJson, "note", {Signal(SIGSEGV)},
                    Reporter::Clock::now(), out_);
  Delivery delivery;
  delivery.signal = Signal(SIGSEGV);
  delivery.code = SEGV_MAPERR;
  reporter.Report(delivery);

  const std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 1u);
  const auto json = nlohmann::ordered_json::parse(lines[0]);
  EXPECT_THAT(Keys(json),
              ElementsAre("t", "signal", "number", "backend", "count", "code",
                          "si_code", "occurrences"));
}

TEST_F(ReporterJsonTest, TheSummaryCountsPerSignalAndInTotal) {
  Reporter reporter(Format::kJson, "posix", {Signal(SIGUSR1), Signal(SIGUSR2)},
                    Reporter::Clock::now(), out_);
  Delivery usr1;
  usr1.signal = Signal(SIGUSR1);
  usr1.occurrences = 2;
  reporter.Report(usr1);
  reporter.Report(usr1);
  Summary summary;
  summary.reason = "child-exited \"early\"\n";
  summary.dropped = 5;
  summary.dropped_occurrences = 6;
  summary.unread = 1;
  summary.queue_overflows = 2;
  summary.exit_code = 143;
  reporter.PrintSummary(summary);

  const std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 3u);
  const auto json = nlohmann::ordered_json::parse(lines[2]);
  EXPECT_THAT(Keys(json),
              ElementsAre("summary", "t", "reason", "backend", "delivered",
                          "dropped", "dropped_occurrences", "unread",
                          "queue_overflows", "exit", "occurrences", "signals"));
  EXPECT_EQ(json["summary"], true);
  EXPECT_EQ(json["reason"], "child-exited \"early\"\n");
  EXPECT_EQ(json["delivered"], 2);
  EXPECT_EQ(json["dropped"], 5);
  EXPECT_EQ(json["dropped_occurrences"], 6);
  EXPECT_EQ(json["unread"], 1);
  EXPECT_EQ(json["queue_overflows"], 2);
  EXPECT_EQ(json["exit"], 143);
  EXPECT_EQ(json["occurrences"], 4);
  EXPECT_EQ(json["signals"], nlohmann::ordered_json::parse(
                                 R"([{"signal":"SIGUSR1","number":10,)"
                                 R"("delivered":2,"occurrences":4},)"
                                 R"({"signal":"SIGUSR2","number":12,)"
                                 R"("delivered":0,"occurrences":0}])"));
}

TEST_F(ReporterJsonTest, OmittingUndeliveredLeavesThemOutOfTheSummary) {
  Reporter reporter(Format::kJson, "posix", {Signal(SIGUSR1), Signal(SIGUSR2)},
                    Reporter::Clock::now(), out_);
  reporter.OmitUndeliveredFromSummary();
  Delivery usr2;
  usr2.signal = Signal(SIGUSR2);
  reporter.Report(usr2);
  Summary summary;
  summary.reason = "count";
  reporter.PrintSummary(summary);

  const std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 2u);
  const auto json = nlohmann::ordered_json::parse(lines[1]);
  ASSERT_EQ(json["signals"].size(), 1u);
  EXPECT_EQ(json["signals"][0]["signal"], "SIGUSR2");
  EXPECT_FALSE(json.contains("exit"));
}

TEST_F(ReporterJsonTest, InvalidUtf8IsReplacedNotThrown) {
  Reporter reporter(Format::kJson, "posix", {Signal(SIGUSR1)},
                    Reporter::Clock::now(), out_);
  Delivery delivery;
  delivery.signal = Signal(SIGUSR1);
  reporter.Report(delivery, "\xff\xfe");
  const std::vector<std::string> lines = Lines(out_);
  ASSERT_EQ(lines.size(), 1u);
  const auto json = nlohmann::ordered_json::parse(lines[0]);
  EXPECT_EQ(json["action"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // Two U+FFFD.
}

}  // namespace
}  // namespace sigwatch
}  // namespace portsig

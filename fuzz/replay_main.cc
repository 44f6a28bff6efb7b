// Replays every file of a libFuzzer corpus through LLVMFuzzerTestOneInput,
// as a normal test: the directory is the first argument (e.g. fuzz/corpus
// in the runfiles). The inputs run in a forked child, since the model's
// raise signals, and a failed check (a model mismatch, a FUZZ_CHECK, a
// sanitizer's report) aborts that child after the input's name went to
// stderr.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/child_process.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string g_corpus_dir;

// The corpus's files, sorted, or the error that stopped the listing.
// std::filesystem rather than readdir(3): on a 32-bit ABI built without
// _FILE_OFFSET_BITS=64, readdir fails with EOVERFLOW at the first entry
// whose inode or directory offset needs more than 32 bits (ext4's hashed
// offsets do), which read as an empty corpus; libstdc++ lists with the
// 64-bit calls on every ABI.
std::vector<std::string> CorpusFiles(const std::string& dir,
                                     std::error_code* error) {
  std::vector<std::string> files;
  for (std::filesystem::directory_iterator it(dir, *error), end;
       !*error && it != end; it.increment(*error)) {
    const std::string name = it->path().filename().string();
    if (name[0] != '.') files.push_back(dir + "/" + name);
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CorpusReplayTest, EveryInputPasses) {
  std::error_code error;
  const std::vector<std::string> files = CorpusFiles(g_corpus_dir, &error);
  ASSERT_FALSE(error) << "listing " << g_corpus_dir << ": " << error.message();
  ASSERT_GE(files.size(), 10u) << "corpus missing at " << g_corpus_dir;
  auto status = portsig::testing::RunInChild([&] {
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
      std::fprintf(stderr, "replay %s (%zu bytes)\n", file.c_str(),
                   bytes.size());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
  std::printf("replayed %zu corpus inputs\n", files.size());
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  g_corpus_dir = argc > 1 ? argv[1] : "fuzz/corpus";
  return RUN_ALL_TESTS();
}

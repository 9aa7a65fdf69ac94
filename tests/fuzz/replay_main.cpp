// Corpus replayer: the main() of a fuzz harness built without libFuzzer
// (g++, ctest). Feeds every file named on the command line, or found in a
// directory named there, to LLVMFuzzerTestOneInput once; a crash or a
// sanitizer report fails the test. Exit 1 when no input was found.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::string bytes{std::istreambuf_iterator<char>{in}, {}};
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                         bytes.size());
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p{argv[i]};
    if (std::filesystem::is_directory(p)) {
      for (auto& f : std::filesystem::recursive_directory_iterator{p})
        if (f.is_regular_file())
          files.push_back(f.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (auto& f : files)
    run_file(f);
  std::printf("%zu inputs replayed\n", files.size());
  return files.empty() ? 1 : 0;
}

// Fuzz target: the TOML configuration loader (actors/server/config*,
// load_text: toml++ parsing and every table's checks). Any text must give
// either a configuration or errors naming a line, never a crash.
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"
#include "server/config.hpp"

using namespace dja;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024)
    return 0;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto r = config::load_text(text, "fuzz.toml");
  for (auto& e : r.errors)
    if (e.file != "fuzz.toml" || e.to_string().empty())
      fuzz::fail("config error without the file name", e.to_string());
  return 0;
}

#include "s2s/status.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <caf/all.hpp>

#include "server/config.hpp"

namespace dja::s2s {

const char* const status_usage
  = "  s2s status  [--config FILE]             the open s2s streams\n";

std::string status_path(const std::string& data_dir) {
  return (std::filesystem::path{data_dir} / "s2s_status").string();
}

namespace {

caf::behavior status_writer(caf::event_based_actor*, std::string path) {
  return {
    [path](const std::vector<std::string>& lines) {
      auto tmp = path + ".tmp";
      {
        std::ofstream out{tmp, std::ios::trunc};
        for (auto& l : lines)
          out << l << '\n';
      }
      std::error_code ec;
      std::filesystem::rename(tmp, path, ec);
    },
  };
}

} // namespace

caf::actor spawn_status_writer(caf::actor_system& sys, std::string path) {
  return sys.spawn<caf::detached>(status_writer, std::move(path));
}

int run_status_command(int argc, char** argv) {
  std::string config = "config/server.toml";
  if (argc < 1 || std::string{argv[0]} != "status") {
    std::cerr << "usage:\n" << status_usage;
    return 1;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config = arg.substr(9);
    } else {
      std::cerr << "unknown argument " << arg << "\nusage:\n" << status_usage;
      return 1;
    }
  }
  auto loaded = config::load_file(config);
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::cerr << e.to_string() << '\n';
    return 1;
  }
  std::ifstream in{status_path(loaded.cfg.data_dir)};
  if (!in) {
    std::cerr << "no s2s status in " << loaded.cfg.data_dir
              << " (server not running, or no s2s listener)\n";
    return 1;
  }
  std::cout << in.rdbuf();
  return 0;
}

} // namespace dja::s2s

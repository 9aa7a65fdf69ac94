#include "cluster/status.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "cluster/messages.hpp"
#include "cluster/node.hpp"
#include "server/config.hpp"

namespace dja::cluster {

const char* const usage =
  R"(  cluster status [--config FILE]          nodes of the cluster as the
                    node of FILE sees them: state, sessions, counters
)";

namespace {

int fail(const std::string& what) {
  std::cerr << "djabberd-actors cluster: " << what << "\n";
  return 1;
}

/// The status file is rewritten every second; older than this, the node
/// is not running (or hangs).
constexpr time_t max_age_s = 5;

} // namespace

std::string format_status(const status_report& r) {
  std::string out = "cluster as seen by node " + r.self + "\n";
  char line[512];
  std::snprintf(line, sizeof(line),
                "%-12s %-10s %8s %9s %6s %8s %6s %5s %6s %9s  %s\n", "NODE",
                "STATE", "SESSIONS", "FORWARDED", "FAILED", "RECEIVED",
                "MISSED", "LOST", "PURGED", "CONFLICTS", "ADDRESS");
  out += line;
  for (auto& n : r.nodes) {
    auto num = [&](uint64_t x) {
      return n.has_counters ? std::to_string(x) : std::string{"-"};
    };
    auto sessions = n.state == "self" || n.state == "up"
                      ? std::to_string(n.sessions)
                      : std::string{"-"};
    std::snprintf(line, sizeof(line),
                  "%-12s %-10s %8s %9s %6s %8s %6s %5s %6s %9s  %s\n",
                  n.node.c_str(), n.state.c_str(), sessions.c_str(),
                  num(n.forwarded).c_str(), num(n.forward_failed).c_str(),
                  num(n.received).c_str(), num(n.receive_missed).c_str(),
                  num(n.nodes_lost).c_str(), num(n.sessions_purged).c_str(),
                  num(n.conflicts).c_str(), n.address.c_str());
    out += line;
  }
  return out;
}

int run_cluster_command(int argc, char** argv) {
  if (argc < 1 || std::strcmp(argv[0], "status") != 0)
    return fail(std::string{"unknown subcommand; usage:\n"} + usage);
  std::string config_path = "config/server.toml";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc)
      config_path = argv[++i];
    else if (arg.rfind("--config=", 0) == 0)
      config_path = arg.substr(9);
    else
      return fail("unknown option " + arg);
  }
  auto loaded = config::load_file(config_path);
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::cerr << e.to_string() << "\n";
    return 1;
  }
  auto& cc = loaded.cfg.cluster;
  if (!cc.enabled)
    return fail(config_path + ": no [cluster] table");
  // The running node writes its view every second into its data_dir (a
  // CLI joining the cluster over BASP as a temporary node made CAF 0.17
  // drop node links, see docs/cluster.md).
  auto path = loaded.cfg.data_dir + "/cluster-status";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return fail("node " + cc.node + " is not running (no " + path + ")");
  auto age = std::time(nullptr) - st.st_mtime;
  if (age > max_age_s)
    return fail("node " + cc.node + " is not running: " + path
                + " was last written " + std::to_string(age) + " s ago");
  std::ifstream in{path};
  std::ostringstream text;
  text << in.rdbuf();
  std::cout << text.str() << std::flush;
  return 0;
}

} // namespace dja::cluster

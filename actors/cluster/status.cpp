#include "cluster/status.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "cluster/messages.hpp"
#include "cluster/start.hpp"
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

void print(const status_report& r) {
  std::printf("cluster as seen by node %s\n", r.self.c_str());
  std::printf("%-12s %-10s %8s %9s %6s %8s %6s %5s %6s %9s  %s\n", "NODE",
              "STATE", "SESSIONS", "FORWARDED", "FAILED", "RECEIVED",
              "MISSED", "LOST", "PURGED", "CONFLICTS", "ADDRESS");
  for (auto& n : r.nodes) {
    auto num = [&](uint64_t x) {
      return n.has_counters ? std::to_string(x) : std::string{"-"};
    };
    auto sessions = n.state == "self" || n.state == "up"
                      ? std::to_string(n.sessions)
                      : std::string{"-"};
    std::printf("%-12s %-10s %8s %9s %6s %8s %6s %5s %6s %9s  %s\n",
                n.node.c_str(), n.state.c_str(), sessions.c_str(),
                num(n.forwarded).c_str(), num(n.forward_failed).c_str(),
                num(n.received).c_str(), num(n.receive_missed).c_str(),
                num(n.nodes_lost).c_str(), num(n.sessions_purged).c_str(),
                num(n.conflicts).c_str(), n.address.c_str());
  }
}

} // namespace

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
  caf::actor_system_config sys_cfg;
  sys_cfg.load<caf::io::middleman>();
  if (auto err = configure(cc, sys_cfg); !err.empty())
    return fail(config_path + ": " + err);
  // Never destroyed: the caller exits with _Exit.
  auto& sys = *new caf::actor_system{sys_cfg};
  // A wildcard listen address is reached on loopback.
  auto host = cc.listen_host;
  if (host == "0.0.0.0")
    host = "127.0.0.1";
  else if (host == "::")
    host = "::1";
  // A blocking connect is fine here: this is a command, not the server.
  auto node = caf::openssl::remote_actor<caf::actor>(sys, host,
                                                     cc.listen_port);
  if (!node)
    return fail("cannot reach node " + cc.node + " at " + host + ":"
                + std::to_string(cc.listen_port) + ": "
                + sys.render(node.error()));
  caf::scoped_actor self{sys};
  int rc = 1;
  self->request(*node, std::chrono::seconds(15), status_atom::value)
    .receive(
      [&](status_report& r) {
        print(r);
        rc = 0;
      },
      [&](caf::error& err) {
        rc = fail("node " + cc.node + " did not answer: " + sys.render(err));
      });
  std::fflush(stdout);
  return rc;
}

} // namespace dja::cluster

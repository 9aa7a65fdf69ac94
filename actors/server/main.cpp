// djabberd-actors: the command line.

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cluster/status.hpp"
#include "control/client.hpp"
#include "control/commands.hpp"
#include "server/registry.hpp"
#include "s2s/status.hpp"
#include "server/admin.hpp"
#include "server/config.hpp"
#include "server/server.hpp"

namespace {

constexpr const char* usage = R"(usage: djabberd-actors [options]
       djabberd-actors user add|passwd|del|list [--config FILE] ARG
       djabberd-actors s2s status [--config FILE]
       djabberd-actors cluster status [--config FILE]
       djabberd-actors ctl [--config FILE] COMMAND [ARG ...]

  --config FILE     configuration file (default: config/server.toml)
  --check-config    validate the configuration, print what is wrong,
                    exit 1 on errors and 0 otherwise
  --daemonize       detach from the terminal and run in the background
  --pidfile FILE    write the process id to FILE
  --version         print the version and exit
  --help            print this help and exit

Account administration (through the vhost's auth plugins, e.g. auth.sqlite;
exit 1 on failure):
)";

constexpr const char* usage_tail = R"(
Signals: SIGTERM or SIGINT stop the server gracefully (every open stream
gets a <system-shutdown/> stream error); SIGHUP reloads the configuration
like `ctl reload` (certificates, log level, limits, vhosts and plugins,
without closing a connection; a configuration with errors is refused and
the running one stays; what happened goes to the log).
)";

/// Every usage section, for --help and usage errors.
void print_usage(std::ostream& out) {
  out << usage << dja::admin::usage << dja::s2s::status_usage
      << "\nCluster:\n" << dja::cluster::usage
      << "\nThe running server (its control socket):\n"
      << dja::control::usage << dja::control::help_text() << usage_tail;
}

int fail_usage(const std::string& what) {
  std::cerr << "djabberd-actors: " << what << "\n\n";
  print_usage(std::cerr);
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "user") == 0)
    return dja::admin::run_user_command(argc - 2, argv + 2);
  if (argc > 1 && std::strcmp(argv[1], "ctl") == 0)
    return dja::control::run_ctl_command(argc - 2, argv + 2);
  if (argc > 1 && std::strcmp(argv[1], "s2s") == 0)
    return dja::s2s::run_status_command(argc - 2, argv + 2);
  if (argc > 1 && std::strcmp(argv[1], "cluster") == 0) {
    auto rc = dja::cluster::run_cluster_command(argc - 2, argv + 2);
    std::fflush(nullptr);
    std::_Exit(rc); // do not wait for CAF's network threads
  }
  std::string config_path = "config/server.toml";
  std::string pidfile;
  bool check_only = false;
  bool daemonize = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      std::cout << "\nplugin types:\n";
      for (auto& t : dja::plugins::builtin_types())
        std::cout << "  " << t.name << " - " << t.summary << "\n";
      return 0;
    } else if (arg == "--version") {
      std::cout << "djabberd-actors " << DJA_VERSION << "\n";
      return 0;
    } else if (arg == "--config") {
      if (!value(config_path))
        return fail_usage("--config needs a file");
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--daemonize") {
      daemonize = true;
    } else if (arg == "--pidfile") {
      if (!value(pidfile))
        return fail_usage("--pidfile needs a file");
    } else {
      return fail_usage("unknown option " + arg);
    }
  }
  auto loaded = dja::config::load_file(config_path);
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::cerr << e.to_string() << "\n";
    std::cerr << "djabberd-actors: " << loaded.errors.size()
              << " error(s) in the configuration; nothing started\n";
    return 1;
  }
  if (check_only) {
    std::cout << config_path << ": configuration OK\n";
    return 0;
  }
  auto& cfg = loaded.cfg;
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    std::cerr << config_path << ": server.data_dir: cannot create "
              << cfg.data_dir << ": " << ec.message() << "\n";
    return 1;
  }
  if (daemonize && daemon(1, 0) != 0) {
    std::perror("djabberd-actors: daemonize");
    return 1;
  }
  if (!pidfile.empty()) {
    std::ofstream out{pidfile};
    if (!out) {
      std::cerr << "djabberd-actors: cannot write pidfile " << pidfile << "\n";
      return 1;
    }
    out << getpid() << "\n";
  }
  std::shared_ptr<spdlog::logger> logger;
  try {
    logger = cfg.log_file.empty()
               ? spdlog::stderr_color_mt("djabberd")
               : spdlog::basic_logger_mt("djabberd", cfg.log_file);
  } catch (const spdlog::spdlog_ex& ex) {
    std::cerr << config_path << ": server.log_file: cannot open "
              << cfg.log_file << ": " << ex.what() << "\n";
    return 1;
  }
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::flush_on(spdlog::level::info);
  // Signals are taken by the main thread only (sigwait in run_server):
  // block them before any other thread exists.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP); // reload (server/reload.hpp)
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  auto rc = dja::run_server(cfg);
  if (!pidfile.empty())
    std::remove(pidfile.c_str());
  spdlog::shutdown();
  // Everything accepted is committed by now (the SQLite plugins answer
  // after their commit); do not wait for CAF's threads, a detached plugin
  // blocked in a request would hold the exit forever.
  std::fflush(nullptr);
  std::_Exit(rc);
}

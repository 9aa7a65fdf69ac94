#include "server/admin.hpp"

#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include <caf/all.hpp>
#include <openssl/crypto.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <termios.h>
#include <unistd.h>

#include "common/jid.hpp"
#include "common/messages.hpp"
#include "hooks/catalogue.hpp"
#include "server/config.hpp"
#include "server/server.hpp"
#include "vhost/vhost.hpp"

namespace dja::admin {

const char* const usage =
  R"(  user add    [--config FILE] USER@DOMAIN   create an account
  user passwd [--config FILE] USER@DOMAIN   change its password
  user del    [--config FILE] USER@DOMAIN   remove it
  user list   [--config FILE] DOMAIN        list the accounts of a vhost
                    (the password is read from standard input: asked
                    twice without echo on a terminal, else one line)
)";

namespace {

constexpr auto hook_timeout = std::chrono::seconds(60);

int fail(const std::string& what) {
  std::cerr << "djabberd-actors user: " << what << "\n";
  return 1;
}

// --- reading the password ---------------------------------------------------

termios saved_tty;
volatile std::sig_atomic_t tty_changed = 0;

extern "C" void restore_tty_and_exit(int sig) {
  if (tty_changed != 0)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

/// One line from standard input, echo off when it is a terminal.
std::optional<std::string> read_line(const char* prompt, bool tty) {
  if (tty) {
    std::cerr << prompt << std::flush;
    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
      return std::nullopt;
    auto quiet = saved_tty;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    std::signal(SIGINT, restore_tty_and_exit);
    std::signal(SIGTERM, restore_tty_and_exit);
    tty_changed = 1;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    tty_changed = 0;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  if (!ok)
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

void wipe(std::string& s) {
  if (!s.empty())
    OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

/// The new password, or an error message.
std::optional<std::string> read_password(std::string& error) {
  bool tty = isatty(STDIN_FILENO) != 0;
  auto first = read_line("Password: ", tty);
  if (!first) {
    error = "no password on standard input";
    return std::nullopt;
  }
  if (first->empty()) {
    error = "empty password";
    return std::nullopt;
  }
  if (tty) {
    auto again = read_line("Repeat password: ", tty);
    bool same = again && *again == *first;
    if (again)
      wipe(*again);
    if (!same) {
      wipe(*first);
      error = "passwords do not match";
      return std::nullopt;
    }
  }
  return first;
}

// --- talking to the vhost ---------------------------------------------------

/// What an account change means to the operator.
int report(hooks::account_result r, const std::string& ok_text) {
  switch (r) {
    case hooks::account_result::done:
      std::cout << ok_text << "\n";
      return 0;
    case hooks::account_result::conflict:
      return fail("user exists");
    case hooks::account_result::not_found:
      return fail("no such user");
    case hooks::account_result::not_allowed:
      break;
  }
  return fail("no auth plugin of this vhost can store accounts");
}

/// What the vhost replies to `Req` (the hook's default already applied).
template <class Req>
using reply_t = decltype(std::declval<typename Req::answer_type>().value);

/// Spawns the vhost, runs `req` against it and reports the answer.
template <class Req, class OnAnswer>
int ask(const config::server_cfg& cfg, const config::vhost_cfg& vhost,
        Req req, OnAnswer on_answer) {
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto vh = spawn_vhost(sys, vhost.domain, make_plugins(vhost, cfg.data_dir));
  int rc = 1;
  {
    caf::scoped_actor self{sys};
    self->request(vh, hook_timeout, std::move(req))
      .receive([&](reply_t<Req>& ans) { rc = on_answer(ans); },
               [&](caf::error& err) {
                 rc = fail(std::string{Req::name} + " failed: "
                           + sys.render(err));
               });
    self->send(vh, shutdown_atom::value);
  }
  return rc;
}

const config::vhost_cfg* find_vhost(const config::server_cfg& cfg,
                                    const std::string& domain) {
  for (auto& v : cfg.vhosts)
    if (v.domain == domain)
      return &v;
  return nullptr;
}

struct args {
  std::string sub;
  std::string config = "config/server.toml";
  std::string target;
};

/// Parses `SUB [--config FILE] TARGET`; an error message on failure.
std::optional<args> parse_args(int argc, char** argv, std::string& error) {
  args a;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) {
        error = "--config needs a file";
        return std::nullopt;
      }
      a.config = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      a.config = arg.substr(9);
    } else if (arg.size() > 1 && arg[0] == '-') {
      error = "unknown option " + arg;
      return std::nullopt;
    } else if (a.sub.empty()) {
      a.sub = arg;
    } else if (a.target.empty()) {
      a.target = arg;
    } else {
      error = "unexpected argument " + arg;
      return std::nullopt;
    }
  }
  if (a.sub != "add" && a.sub != "passwd" && a.sub != "del"
      && a.sub != "list") {
    error = a.sub.empty() ? "missing subcommand (add, passwd, del, list)"
                          : "unknown subcommand " + a.sub;
    return std::nullopt;
  }
  if (a.target.empty()) {
    error = a.sub == "list" ? "missing DOMAIN" : "missing USER@DOMAIN";
    return std::nullopt;
  }
  return a;
}

} // namespace

int run_user_command(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (std::string_view{argv[i]} == "--help"
        || std::string_view{argv[i]} == "-h") {
      std::cout << "usage: djabberd-actors\n" << usage;
      return 0;
    }
  std::string error;
  auto a = parse_args(argc, argv, error);
  if (!a) {
    std::cerr << "djabberd-actors user: " << error << "\n\nusage:\n"
              << usage;
    return 1;
  }
  auto user = a->sub == "list" ? jid::make({}, a->target)
                               : jid::parse(a->target);
  if (!user || user->is_full() || (a->sub != "list" && user->local().empty()))
    return fail(a->sub == "list" ? "not a domain: " + a->target
                                 : "not a bare JID user@domain: "
                                     + a->target);
  auto loaded = config::load_file(a->config);
  if (!loaded.ok()) {
    for (auto& e : loaded.errors)
      std::cerr << e.to_string() << "\n";
    return fail(std::to_string(loaded.errors.size())
                + " error(s) in the configuration");
  }
  auto& cfg = loaded.cfg;
  auto vhost = find_vhost(cfg, user->domain());
  if (vhost == nullptr)
    return fail(a->config + " has no vhost " + user->domain());
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec)
    return fail("server.data_dir: cannot create " + cfg.data_dir + ": "
                + ec.message());
  // Plugins log to standard error; warnings and errors only.
  auto logger = spdlog::stderr_color_mt("djabberd-user");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%^%l%$: %v");
  spdlog::set_level(spdlog::level::warn);
  auto bare = user->bare_str();
  if (a->sub == "list")
    return ask(cfg, *vhost, hooks::auth_list_users{},
               [&](const std::vector<std::string>& names) {
                 for (auto& n : names)
                   std::cout << n << "@" << user->domain() << "\n";
                 return 0;
               });
  if (a->sub == "del")
    return ask(cfg, *vhost, hooks::auth_remove_user{*user},
               [&](hooks::account_result r) {
                 return report(r, "removed " + bare);
               });
  auto password = read_password(error);
  if (!password)
    return fail(error);
  int rc;
  if (a->sub == "add")
    rc = ask(cfg, *vhost, hooks::auth_register{*user, *password},
             [&](hooks::account_result r) {
               return report(r, "created " + bare);
             });
  else
    rc = ask(cfg, *vhost, hooks::auth_set_password{*user, *password},
             [&](hooks::account_result r) {
               return report(r, "changed the password of " + bare);
             });
  wipe(*password);
  return rc;
}

} // namespace dja::admin

// The commands of the control channel (commands.hpp).

#include "control/commands.hpp"
#include "control/admin_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include <caf/all.hpp>

#include "common/messages.hpp"
#include "hooks/catalogue.hpp"
#include "listener/connection_limits.hpp"
#include "metrics/metrics.hpp"

namespace dja::control {

namespace {

struct command {
  const char* name;
  const char* args; ///< for the help line
  const char* doc;
  size_t min_args;
  size_t max_args;
  response (*run)(const args_t&, const server_view&);
};

std::string duration_text(std::chrono::seconds s) {
  auto n = s.count();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%lldd %02lldh %02lldm %02llds",
                static_cast<long long>(n / 86400),
                static_cast<long long>(n / 3600 % 24),
                static_cast<long long>(n / 60 % 60),
                static_cast<long long>(n % 60));
  return buf;
}

std::vector<std::string> domains(const server_view& sv) {
  std::vector<std::string> out;
  for (auto& [d, _] : sv.ctx->vhosts)
    out.push_back(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

response status(const args_t&, const server_view& view) {
  auto sv = view; // the vhosts and bounds of the newest configuration
  sv.ctx = view.context();
  auto up = std::chrono::duration_cast<std::chrono::seconds>(
    std::chrono::steady_clock::now() - sv.started);
  std::string out = "djabberd-actors " DJA_VERSION ", pid "
                    + std::to_string(::getpid()) + ", up "
                    + duration_text(up) + "\n";
  out += "config: " + sv.config_file + "\n";
  out += "vhosts: " + joined(domains(sv)) + "\n";
  caf::scoped_actor self{*sv.sys};
  constexpr auto wait = std::chrono::seconds(2);
  size_t conns = 0;
  bool all = true;
  for (auto& l : sv.listeners)
    self->request(l, wait, count_atom::value)
      .receive([&](size_t n) { conns += n; },
               [&](caf::error&) { all = false; });
  out += "connections: " + std::to_string(conns)
         + (all ? "" : " (a listener did not answer)");
  if (sv.ctx->conn_limits)
    out += " (bound: " + std::to_string(sv.ctx->conn_limits->max_total())
           + ")";
  out += "\n";
  auto c = count_sessions(sv);
  out += "sessions: " + std::to_string(c.sessions) + " of "
         + std::to_string(c.users) + " user(s) on this node"
         + (c.all ? "" : " (a router shard did not answer)") + "\n";
  return {true, out};
}

/// Sends cache.invalidate for `scope` to the vhost `v`; the line saying
/// what it did.
std::string invalidate_at(const vhost_info& v, const jid& scope) {
  if (!v.serves<hooks::cache_invalidate>())
    return v.domain + ": no plugin keeps user data of an outside source "
                      "(nothing to invalidate)\n";
  caf::anon_send(v.actor, hooks::cache_invalidate{scope});
  return v.domain + ": invalidated "
         + (scope.local().empty() ? std::string{"every user"}
                                  : scope.bare_str())
         + "; changed rosters of online users are being pushed\n";
}

response invalidate(const args_t& args, const server_view& view) {
  auto sv = view;
  sv.ctx = view.context();
  auto& target = args.front();
  if (target == "--all") {
    std::string out;
    for (auto& d : domains(sv)) {
      auto v = sv.ctx->find_vhost(d);
      out += invalidate_at(*v, *jid::make({}, d));
    }
    return {true, out};
  }
  auto scope = target.find('@') == std::string::npos
                 ? jid::make({}, target)
                 : jid::parse(target);
  if (!scope || scope->is_full())
    return response::error("not a bare JID (user@domain), a domain or "
                           "--all: "
                           + target);
  auto v = sv.ctx->find_vhost(scope->domain());
  if (v == nullptr)
    return response::error("no vhost " + scope->domain()
                           + " here (served: " + joined(domains(sv))
                           + ")");
  return {true, invalidate_at(*v, *scope)};
}

response reload(const args_t&, const server_view& sv) {
  if (!sv.reload)
    return response::error("reload: not possible in this server");
  return sv.reload();
}

/// The text GET /metrics serves (docs/metrics.md), from the metrics
/// actor.
response metrics_text(const args_t&, const server_view& sv) {
  auto m = metrics::find(*sv.sys);
  if (!m)
    return response::error("metrics: no metrics actor in this server");
  caf::scoped_actor self{*sv.sys};
  response out{false, "metrics: no answer within 5 s"};
  self->request(m, std::chrono::seconds(5), metrics::scrape_atom::value)
    .receive([&](std::string& text) { out = {true, std::move(text)}; },
             [&](caf::error& e) {
               out = response::error("metrics: " + caf::to_string(e));
             });
  return out;
}

response help(const args_t&, const server_view&) {
  return {true, help_text()};
}

const command commands[] = {
  {"status", "", "uptime, vhosts, connections and sessions", 0, 0, status},
  {"invalidate", "JID|DOMAIN|--all",
   "the plugins that keep user data of an outside source (sql, http) "
   "forget it for that user, vhost or every vhost, and push the changed "
   "rosters to the users online",
   1, 1, invalidate},
  {"stats", "", "connections by kind, sessions, uptime, memory", 0, 0,
   stats},
  {"sessions", "[VHOST]",
   "the sessions (of VHOST): JID, address, since, TLS, stream management",
   0, 1, sessions},
  {"kick", "JID [REASON]",
   "end the session of a full JID, or every session of a bare JID, with "
   "the stream error policy-violation and REASON",
   1, max_words - 1, kick},
  {"roster", "show JID", "the roster of an account", 2, 2, roster},
  {"broadcast", "VHOST TEXT",
   "a headline message with TEXT from VHOST to every session there", 2,
   max_words - 1, broadcast},
  {"reload", "",
   "re-read the configuration: certificates, log level, limits, vhosts "
   "and plugins change without closing a connection; a configuration "
   "with errors is refused and nothing changes",
   0, 0, reload},
  {"metrics", "",
   "the Prometheus text exposition that GET /metrics serves "
   "(docs/metrics.md)",
   0, 0, metrics_text},
  {"help", "", "this list", 0, 0, help},
};

} // namespace

std::string help_text() {
  // "    NAME ARGS   DOC", the doc in a column from 28, wrapped at 80.
  constexpr size_t column = 28;
  constexpr size_t width = 80;
  std::string out;
  for (auto& c : commands) {
    std::string head = std::string{c.name} + (*c.args ? " " : "") + c.args;
    std::string line = "    " + head;
    if (line.size() + 2 > column) {
      out += line + "\n";
      line.clear();
    }
    line.resize(column, ' ');
    std::string_view doc = c.doc;
    while (!doc.empty()) {
      auto room = width - line.size();
      auto cut = doc.size() <= room ? doc.size() : doc.rfind(' ', room);
      if (cut == std::string_view::npos || cut == 0)
        cut = std::min(doc.size(), room);
      line += doc.substr(0, cut);
      out += line + "\n";
      doc.remove_prefix(cut);
      while (!doc.empty() && doc.front() == ' ')
        doc.remove_prefix(1);
      line = std::string(column, ' ');
    }
  }
  return out;
}

session_count count_sessions(const server_view& server) {
  session_count c;
  caf::scoped_actor self{*server.sys};
  for (auto& s : server.context()->router.shards)
    self->request(s, std::chrono::seconds(2), count_atom::value)
      .receive(
        [&](size_t u, size_t n) {
          c.users += u;
          c.sessions += n;
        },
        [&](caf::error&) { c.all = false; });
  return c;
}

response run_command(const request& req, const server_view& server) {
  for (auto& c : commands) {
    if (req.command != c.name)
      continue;
    if (req.args.size() < c.min_args || req.args.size() > c.max_args)
      return response::error(
        std::string{c.name} + ": "
        + (c.max_args == 0 ? "takes no argument"
                           : std::string{"expects "} + c.args));
    return c.run(req.args, server);
  }
  return response::error("unknown command " + req.command
                         + " (try `help`)");
}

} // namespace dja::control

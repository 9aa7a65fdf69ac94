// stats, sessions, kick, roster show, broadcast (admin_commands.hpp).
// Each runs on the control socket's thread and asks the actors with a
// scoped actor, every wait bounded.

#include "control/admin_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>

#include <caf/all.hpp>

#include "common/messages.hpp"
#include "common/operator_messages.hpp"
#include "hooks/catalogue.hpp"
#include "listener/connection_limits.hpp"

namespace dja::control {

namespace {

constexpr auto wait = std::chrono::seconds(2);

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::string served(const context_ptr& ctx) {
  std::vector<std::string> ds;
  for (auto& [d, _] : ctx->vhosts)
    ds.push_back(d);
  std::sort(ds.begin(), ds.end());
  return joined(ds);
}

std::string words_from(const args_t& args, size_t first) {
  std::string out;
  for (size_t i = first; i < args.size(); ++i)
    out += (out.empty() ? "" : " ") + args[i];
  return out;
}

/// Every resource bound on this node; `complete` false when a shard did
/// not answer in time.
msg::bound_sessions all_sessions(caf::scoped_actor& self,
                                 const context_ptr& ctx, bool& complete) {
  msg::bound_sessions out;
  complete = true;
  for (auto& s : ctx->router.shards)
    self->request(s, wait, list_atom::value)
      .receive(
        [&](msg::bound_sessions& xs) {
          out.insert(out.end(), std::make_move_iterator(xs.begin()),
                     std::make_move_iterator(xs.end()));
        },
        [&](caf::error&) { complete = false; });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return a.full.str() < b.full.str();
  });
  return out;
}

/// The resources of `user` (a bare JID: all of them; a full JID: that
/// one), from the shard that holds the user.
msg::bound_sessions sessions_of(caf::scoped_actor& self,
                                const context_ptr& ctx, const jid& user,
                                bool& complete) {
  msg::bound_sessions out;
  complete = true;
  self->request(ctx->router.shard_for(user), wait, list_atom::value)
    .receive(
      [&](msg::bound_sessions& xs) {
        for (auto& x : xs)
          if (x.full.bare_str() == user.bare_str()
              && (!user.is_full() || x.full.str() == user.str()))
            out.push_back(std::move(x));
      },
      [&](caf::error&) { complete = false; });
  return out;
}

/// A bare or full JID of a vhost served here, or an error text.
std::optional<jid> account_jid(const std::string& text,
                               const context_ptr& ctx, std::string& error) {
  auto j = jid::parse(text);
  if (!j || j->local().empty()) {
    error = "not a JID user@domain[/resource]: " + text;
    return std::nullopt;
  }
  if (ctx->find_vhost(j->domain()) == nullptr) {
    error = "no vhost " + j->domain() + " here (served: " + served(ctx)
            + ")";
    return std::nullopt;
  }
  return j;
}

std::string utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// VmRSS and VmHWM of this process, from /proc/self/status.
std::string memory_text() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  std::string rss = "?";
  std::string peak = "?";
  while (std::getline(in, line)) {
    auto value = [&] {
      auto v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    };
    if (line.rfind("VmRSS:", 0) == 0)
      rss = value();
    else if (line.rfind("VmHWM:", 0) == 0)
      peak = value();
  }
  return "resident " + rss + " (peak " + peak + ")";
}

} // namespace

response stats(const args_t&, const server_view& sv) {
  auto ctx = sv.context();
  caf::scoped_actor self{*sv.sys};
  auto up = std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::steady_clock::now() - sv.started)
              .count();
  std::string out = "uptime: " + std::to_string(up) + " s\n";
  std::map<std::string, size_t> by_kind;
  size_t total = 0;
  bool all = true;
  for (size_t i = 0; i < sv.listeners.size(); ++i) {
    auto kind = i < sv.listener_kinds.size() ? sv.listener_kinds[i] : "?";
    self->request(sv.listeners[i], wait, count_atom::value)
      .receive(
        [&](size_t n) {
          by_kind[kind] += n;
          total += n;
        },
        [&](caf::error&) { all = false; });
  }
  out += "connections: " + std::to_string(total);
  for (auto& [kind, n] : by_kind)
    out += ", " + kind + " " + std::to_string(n);
  if (!all)
    out += " (a listener did not answer)";
  out += "\n";
  auto c = count_sessions(sv);
  out += "sessions: " + std::to_string(c.sessions) + "\nusers online: "
         + std::to_string(c.users)
         + (c.all ? "" : " (a router shard did not answer)") + "\n";
  out += "vhosts: " + std::to_string(ctx->vhosts.size()) + "\n";
  out += "memory: " + memory_text() + "\n";
  return {true, out};
}

response sessions(const args_t& args, const server_view& sv) {
  auto ctx = sv.context();
  if (!args.empty() && ctx->find_vhost(args.front()) == nullptr)
    return response::error("no vhost " + args.front() + " here (served: "
                           + served(ctx) + ")");
  caf::scoped_actor self{*sv.sys};
  bool complete = true;
  auto all = all_sessions(self, ctx, complete);
  std::string out = "JID\tADDRESS\tSINCE\tTLS\tSM\n";
  size_t n = 0;
  for (auto& s : all) {
    if (!args.empty() && s.full.domain() != args.front())
      continue;
    msg::session_info info;
    bool answered = false;
    self->request(s.session, wait, info_atom::value)
      .receive(
        [&](msg::session_info& i) {
          info = std::move(i);
          answered = true;
        },
        [](caf::error&) {});
    if (!answered)
      continue; // it ended meanwhile
    std::string tls = "-";
    if (info.conn)
      self->request(info.conn, wait, info_atom::value)
        .receive([&](std::string& v) { tls = v.empty() ? "no" : v; },
                 [](caf::error&) {});
    out += s.full.str() + "\t" + info.remote + "\t" + utc(info.since) + "\t"
           + tls + "\t" + (info.sm.empty() ? "no" : info.sm) + "\n";
    ++n;
  }
  out += std::to_string(n) + " session(s)"
         + (complete ? "" : " (a router shard did not answer)") + "\n";
  return {true, out};
}

response kick(const args_t& args, const server_view& sv) {
  auto ctx = sv.context();
  std::string error;
  auto user = account_jid(args.front(), ctx, error);
  if (!user)
    return response::error(error);
  auto reason = args.size() > 1 ? words_from(args, 1)
                                : std::string{"kicked by the administrator"};
  caf::scoped_actor self{*sv.sys};
  bool complete = true;
  auto ss = sessions_of(self, ctx, *user, complete);
  if (!complete)
    return response::error("the router did not answer; nothing done");
  if (ss.empty())
    return response::error("no session of " + user->str() + " here");
  std::string out;
  for (auto& s : ss) {
    // RFC 6120 §4.9.3.14 <policy-violation/>, the reason as <text/>.
    self->send(s.session, kick_atom::value, std::string{"policy-violation"},
               reason);
    out += "kicked " + s.full.str() + " (policy-violation: " + reason + ")\n";
  }
  return {true, out};
}

response roster(const args_t& args, const server_view& sv) {
  if (args.front() != "show")
    return response::error("roster: expects show JID");
  auto ctx = sv.context();
  std::string error;
  auto user = account_jid(args[1], ctx, error);
  if (!user)
    return response::error(error);
  if (user->is_full())
    return response::error("roster: a bare JID (user@domain): "
                           + user->str());
  auto v = ctx->find_vhost(user->domain());
  caf::scoped_actor self{*sv.sys};
  constexpr auto hook_wait = std::chrono::seconds(10);
  if (v->serves<hooks::auth_user_exists>()) {
    std::optional<bool> exists;
    self->request(v->actor, hook_wait, hooks::auth_user_exists{*user})
      .receive([&](bool b) { exists = b; },
               [&](caf::error& e) { error = caf::to_string(e); });
    if (!exists)
      return response::error("auth.user_exists failed: " + error);
    if (!*exists)
      return response::error("no account " + user->bare_str());
  }
  if (!v->serves<hooks::roster_get>())
    return response::error(user->domain() + " keeps no rosters (no plugin "
                           "serves roster.get)");
  std::optional<hooks::roster> r;
  self->request(v->actor, hook_wait, hooks::roster_get{*user})
    .receive([&](hooks::roster& x) { r = std::move(x); },
             [&](caf::error& e) { error = caf::to_string(e); });
  if (!r)
    return response::error("roster.get failed: " + error);
  std::string out = "CONTACT\tSUBSCRIPTION\tASK\tNAME\tGROUPS\n";
  size_t n = 0;
  for (auto& i : r->items) {
    if (!i.listed)
      continue;
    out += i.contact.bare_str() + "\t" + i.subscription + "\t"
           + (i.ask_out ? "subscribe" : "-") + "\t"
           + (i.name.empty() ? "-" : i.name) + "\t"
           + (i.groups.empty() ? "-" : joined(i.groups)) + "\n";
    ++n;
  }
  out += std::to_string(n) + " contact(s) of " + user->bare_str() + "\n";
  return {true, out};
}

response broadcast(const args_t& args, const server_view& sv) {
  auto ctx = sv.context();
  auto& domain = args.front();
  if (ctx->find_vhost(domain) == nullptr)
    return response::error("no vhost " + domain + " here (served: "
                           + served(ctx) + ")");
  auto text = words_from(args, 1);
  caf::scoped_actor self{*sv.sys};
  bool complete = true;
  auto all = all_sessions(self, ctx, complete);
  static std::atomic<uint64_t> counter{0};
  auto id = "broadcast-" + std::to_string(::getpid()) + "-"
            + std::to_string(++counter);
  size_t n = 0;
  for (auto& s : all) {
    if (s.full.domain() != domain)
      continue;
    // RFC 6121 §5.2.2: a headline is shown, not stored nor replied to.
    auto m = std::make_shared<xml::element>("message", "jabber:client");
    m->set_attr("type", "headline");
    m->set_attr("from", domain);
    m->set_attr("to", s.full.str());
    m->set_attr("id", id);
    m->add_child(xml::element{"body", "jabber:client"}).add_text(text);
    self->send(s.session, msg::deliver_local{std::move(m)});
    ++n;
  }
  return {true, "sent to " + std::to_string(n) + " session(s) of " + domain
                  + (complete ? "" : " (a router shard did not answer)")
                  + "\n"};
}

} // namespace dja::control

// The online users and the rosters their clients were given
// (plugins/common/online_rosters.hpp); the pushes are RFC 6121 §2.1.6.

#include "plugins/common/online_rosters.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/roster_xml.hpp"

namespace dja::plugins {

void online_rosters::bound(const jid& full, caf::actor session) {
  sessions_[full.local()][full.str()] = std::move(session);
}

void online_rosters::closed(const jid& full) {
  auto i = sessions_.find(full.local());
  if (i == sessions_.end())
    return;
  i->second.erase(full.str());
  if (i->second.empty()) {
    sessions_.erase(i);
    given_.erase(full.local());
  }
}

bool online_rosters::is_online(const std::string& user) const {
  return sessions_.count(user) > 0;
}

std::vector<std::string> online_rosters::users() const {
  std::vector<std::string> out;
  for (auto& [u, _] : sessions_)
    out.push_back(u);
  return out;
}

void online_rosters::given(const std::string& user, const roster& r) {
  // Only the first read while she is online: later roster.get calls may
  // be the core's own (presence broadcast, probes), whose answers her
  // client never saw; pushes keep the record current from here on. A
  // client that asks again gets the current roster, and at worst a push
  // it already has (harmless, RFC 6121 §2.1.6).
  if (is_online(user))
    given_.emplace(user, r);
}

size_t online_rosters::push_changes(const std::string& user,
                                    const roster& now) {
  auto o = sessions_.find(user);
  if (o == sessions_.end())
    return 0;
  auto& before = given_[user];
  auto pushes = roster_xml::changes(before, now);
  before = now;
  for (auto& [_, s] : o->second)
    for (auto& p : pushes)
      caf::anon_send(s, msg::roster_push{p});
  return pushes.size();
}

size_t online_rosters::refresh(std::mutex& mtx, online_rosters& online,
                               const std::vector<std::string>& users,
                               const read_fn& read, const std::string& tag) {
  size_t changed = 0;
  for (auto& user : users) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!online.is_online(user))
        continue; // read afresh at her next login anyway
    }
    auto now = read(user);
    if (!now) {
      spdlog::warn("{}: roster refresh of {}: {}", tag, user,
                   caf::to_string(now.error()));
      continue;
    }
    size_t pushes = 0;
    {
      std::lock_guard<std::mutex> guard{mtx};
      pushes = online.push_changes(user, *now);
    }
    if (pushes == 0)
      continue;
    ++changed;
    spdlog::info("{}: roster of {} changed at the source: {} push(es)", tag,
                 user, pushes);
  }
  return changed;
}

} // namespace dja::plugins

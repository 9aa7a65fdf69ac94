#include "router/router.hpp"

#include <algorithm>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

namespace {

/// One bound resource of a user.
struct resource_entry {
  std::string resource;
  caf::actor session;
  bool available = false;
  int priority = 0;
};

struct shard_state {
  static inline const char* name = "router";

  caf::stateful_actor<shard_state>* self = nullptr;
  std::shared_ptr<const vhost_table> vhosts;
  std::vector<caf::actor> all_shards; ///< to route bounces
  /// bare JID string -> bound resources.
  std::unordered_map<std::string, std::vector<resource_entry>> users;

  std::vector<resource_entry>* find_user(const jid& j) {
    auto i = users.find(j.bare_str());
    return i == users.end() ? nullptr : &i->second;
  }

  resource_entry* find(const jid& full) {
    if (auto rs = find_user(full))
      for (auto& e : *rs)
        if (e.resource == full.resource())
          return &e;
    return nullptr;
  }

  /// Sends an error for `stanza` back to its sender (never for errors).
  void bounce(const xml::element& stanza, const jid& from,
              std::string_view condition) {
    if (errors::is_error(stanza) || from.empty())
      return;
    auto reply = errors::stanza_error(stanza, condition);
    auto to = jid::parse(reply->attr_or("to"));
    if (!to)
      return;
    auto& shards = all_shards;
    auto key = to->local() + '@' + to->domain();
    self->send(shards[std::hash<std::string>{}(key) % shards.size()],
               msg::route{reply, jid{}, *to});
  }

  void bind(msg::bind& b, bool& replaced) {
    auto& rs = users[b.full.bare_str()];
    for (auto& e : rs) {
      if (e.resource == b.full.resource()) {
        // RFC 6120 §7.7.2.2: the newer session wins; the old one gets a
        // <conflict/> stream error.
        self->send(e.session, conflict_atom::value);
        e = resource_entry{b.full.resource(), b.session, false, 0};
        replaced = true;
        return;
      }
    }
    rs.push_back(resource_entry{b.full.resource(), b.session, false, 0});
  }

  void unbind(const msg::unbind& u) {
    auto i = users.find(u.full.bare_str());
    if (i == users.end())
      return;
    auto& rs = i->second;
    rs.erase(std::remove_if(rs.begin(), rs.end(),
                            [&](const resource_entry& e) {
                              return e.resource == u.full.resource()
                                     && e.session == u.session;
                            }),
             rs.end());
    if (rs.empty())
      users.erase(i);
  }

  /// No session took it: ask the vhost's `deliver` chain, then bounce.
  void undeliverable(msg::route& r, const char* condition) {
    auto v = vhosts->find(r.to.domain());
    if (v == vhosts->end()) {
      bounce(*r.stanza, r.from, condition);
      return;
    }
    auto stanza = r.stanza;
    auto from = r.from;
    std::string cond = condition;
    self->request(v->second, caf::infinite, hooks::deliver{r.stanza, r.to})
      .then([this, stanza, from, cond](hooks::delivery_verdict& v) {
        if (!v.taken)
          bounce(*stanza, from, v.condition.empty() ? cond : v.condition);
      },
      [this, stanza, from, cond](caf::error&) {
        bounce(*stanza, from, cond);
      });
  }

  /// RFC 6121 §8.5.2: a message to a bare JID.
  void message_to_bare(msg::route& r) {
    auto type = r.stanza->attr_or("type", "normal");
    if (type == "error")
      return; // nothing to do: never bounce an error
    if (type == "groupchat") {
      bounce(*r.stanza, r.from, "service-unavailable"); // §8.5.2.1.1
      return;
    }
    std::vector<caf::actor> targets;
    if (auto rs = find_user(r.to)) {
      int best = -129;
      for (auto& e : *rs)
        if (e.available && e.priority >= 0)
          best = std::max(best, e.priority);
      for (auto& e : *rs)
        if (e.available && e.priority >= 0
            && (type == "headline" || e.priority == best))
          targets.push_back(e.session);
    }
    if (!targets.empty()) {
      for (auto& t : targets)
        self->send(t, msg::deliver_local{r.stanza});
      return;
    }
    if (type == "headline")
      return; // §8.5.2.2.1: silently ignored
    undeliverable(r, "service-unavailable");
  }

  void route(msg::route& r) {
    if (vhosts->count(r.to.domain()) == 0) {
      // Not ours and no server-to-server yet (a later stage).
      bounce(*r.stanza, r.from, "remote-server-not-found");
      return;
    }
    const auto& kind = r.stanza->name;
    if (r.to.is_full()) {
      if (auto e = find(r.to)) {
        self->send(e->session, msg::deliver_local{r.stanza});
        return;
      }
      // RFC 6121 §8.5.3.2: no resource matches.
      if (kind == "message") {
        auto type = r.stanza->attr_or("type", "normal");
        if (type == "groupchat")
          bounce(*r.stanza, r.from, "service-unavailable");
        else if (type != "error")
          message_to_bare(r);
      } else if (kind == "iq") {
        auto type = r.stanza->attr_or("type");
        if (type == "get" || type == "set")
          bounce(*r.stanza, r.from, "service-unavailable");
      } // presence: silently dropped (§8.5.3.2.3)
      return;
    }
    if (kind == "message") {
      message_to_bare(r);
    } else if (kind == "presence") {
      if (auto rs = find_user(r.to))
        for (auto& e : *rs)
          if (e.available)
            self->send(e.session, msg::deliver_local{r.stanza});
    } else if (kind == "iq") {
      // Sessions hand bare-JID iqs to the vhost; one reaching us is
      // unanswerable here.
      auto type = r.stanza->attr_or("type");
      if (type == "get" || type == "set")
        bounce(*r.stanza, r.from, "service-unavailable");
    }
  }
};

caf::behavior shard_actor(caf::stateful_actor<shard_state>* self,
                          std::shared_ptr<const vhost_table> vhosts) {
  self->state.self = self;
  self->state.vhosts = std::move(vhosts);
  return {
    [self](std::vector<caf::actor>& shards) {
      self->state.all_shards = std::move(shards);
    },
    [self](msg::bind& b) -> bool {
      bool replaced = false;
      self->state.bind(b, replaced);
      return replaced;
    },
    [self](const msg::unbind& u) { self->state.unbind(u); },
    [self](const msg::presence_state& p) {
      if (auto e = self->state.find(p.full); e && e->session == p.session) {
        e->available = p.available;
        e->priority = p.priority;
      }
    },
    [self](msg::route& r) { self->state.route(r); },
    [self](msg::push_to_user& p) {
      if (auto rs = self->state.find_user(p.user))
        for (auto& e : *rs)
          self->send(e.session, msg::roster_push{p.stanza});
    },
  };
}

} // namespace

std::vector<caf::actor> spawn_router(caf::actor_system& sys, size_t count,
                                     std::shared_ptr<const vhost_table> vhosts) {
  std::vector<caf::actor> shards;
  for (size_t i = 0; i < std::max<size_t>(count, 1); ++i)
    shards.push_back(sys.spawn(shard_actor, vhosts));
  for (auto& s : shards)
    caf::anon_send(s, shards);
  return shards;
}

} // namespace dja

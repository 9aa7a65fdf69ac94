// The archive feature actor (plugins/mam/serve.hpp): XEP-0313 user
// archives over a backend. Archiving never waits on the database: rows
// gather in memory and go in one transaction every `batch_ms` or
// `batch_max` rows; a query writes what is pending first, so a client
// always finds what it was sent. A graceful stop archives everything
// queued before it. A blocking backend's actor is detached and sits
// behind a scheduled front actor (front()) that hands it the
// notifications in batches. A write that fails is logged with the
// rows lost (the messages themselves were delivered).

#include "plugins/mam/serve.hpp"

#include <chrono>
#include <unordered_set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/stanza_id.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/mam/common/answer.hpp"
#include "plugins/mam/common/options.hpp"

namespace dja::plugins::mam::detail {

/// Notifications the front actor hands to the archive actor at once.
struct store_batch {
  std::vector<hooks::archive_store> items;
};

} // namespace dja::plugins::mam::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::mam::detail::store_batch)

namespace dja::plugins::mam {

namespace {

using detail::store_batch;

using flush_atom = caf::atom_constant<caf::atom("mamflush")>;
using prune_atom = caf::atom_constant<caf::atom("mamprune")>;
using stop_atom = caf::atom_constant<caf::atom("mamstop")>;

/// How long a question to the vhost (auth.user_exists, roster.load_item)
/// may take, below its default plugin timeout.
constexpr auto vhost_timeout = std::chrono::seconds(3);

/// One archive a message goes to.
struct side {
  jid user; ///< the archive's owner, bare
  jid with; ///< the other party
  std::string id;
  bool outgoing = false;
  bool exists = false; ///< the account is known to exist
};

/// The sides of one notification still being decided; the last one
/// runs `k` (the rest of a batch waits for it, so rows keep their order).
struct join {
  int left = 1;
  std::function<void()> k;
};
using join_ptr = std::shared_ptr<join>;

void done(const join_ptr& j) {
  if (j && --j->left == 0 && j->k)
    j->k();
}

struct mam_state {
  static inline const char* name = "mam";

  caf::stateful_actor<mam_state>* self = nullptr;
  std::string tag;
  std::string domain;
  settings cfg;
  caf::actor vhost;
  std::shared_ptr<backend> db;
  std::unique_ptr<prefs_cache> pcache;
  std::vector<row> pending;
  bool flush_scheduled = false;
  bool stopping = false; ///< an exit came: draining the mailbox
  /// Accounts known to exist (bounded; cleared when full).
  std::unordered_set<std::string> known;

  void on_store(const hooks::archive_store& r, const join_ptr& j = nullptr) {
    bool self_chat = r.from.bare() == r.to.bare();
    // A note to self is one row, in the recipient's archive.
    if (!r.from_id.empty() && !self_chat && ours(r.from)) {
      if (j)
        ++j->left;
      consider(side{r.from.bare(), r.to, r.from_id, true, true}, r, j);
    }
    if (!r.to_id.empty() && ours(r.to)) {
      if (j)
        ++j->left;
      consider(side{r.to.bare(), r.from, r.to_id, false, r.to_bound}, r, j);
    }
  }

  /// The notifications of `b` from `i` on, in order; one that waits for
  /// the vhost holds the rest until it is decided. The rows then wait
  /// for `batch_ms` or `batch_max` as one by one (keep()).
  void on_batch(const std::shared_ptr<const store_batch>& b, size_t i) {
    for (; i < b->items.size(); ++i) {
      auto j = std::make_shared<join>();
      on_store(b->items[i], j);
      if (--j->left > 0) {
        j->k = [this, b, i] { on_batch(b, i + 1); };
        return;
      }
    }
  }

  bool ours(const jid& user) const {
    return user.domain() == domain && !user.local().empty();
  }

  /// Preferences and existence, then keep(). What needs the vhost's
  /// answer waits for it (CAF await), so rows keep their order.
  void consider(side s, const hooks::archive_store& r, join_ptr j) {
    if (!s.exists && known.count(s.user.local()) == 0) {
      auto stanza = r.stanza;
      auto stamp = r.stamp_us;
      self->request(vhost, vhost_timeout, hooks::auth_user_exists{s.user})
        .await(
          [this, s, stanza, stamp, j](bool exists) mutable {
            if (!exists)
              return done(j); // no such account: nothing to archive
            remember(s.user.local());
            s.exists = true;
            consider(std::move(s),
                     hooks::archive_store{stanza, {}, {}, {}, {}, stamp,
                                          true},
                     j);
          },
          [this, j](caf::error& err) {
            spdlog::error("{}: vhost {}: auth.user_exists: {}; a message "
                          "is not archived",
                          tag, domain, caf::to_string(err));
            done(j);
          });
      return;
    }
    auto p = pcache->get(s.user.local());
    if (!p) {
      spdlog::error("{}: vhost {}: preferences of {}: {}; archiving as "
                    "always",
                    tag, domain, s.user.local(), caf::to_string(p.error()));
      p = mam::prefs{};
    }
    switch (p->decide(s.with.bare_str())) {
      case prefs::verdict::drop:
        return done(j);
      case prefs::verdict::keep:
        keep(s, r);
        return done(j);
      case prefs::verdict::ask_roster:
        break;
    }
    auto stanza = r.stanza;
    auto stamp = r.stamp_us;
    self
      ->request(vhost, vhost_timeout,
                hooks::roster_load_item{s.user, s.with.bare()})
      .await(
        [this, s, stanza, stamp, j](std::vector<hooks::roster_item>& items) {
          if (!items.empty() && items.front().listed)
            keep(s, hooks::archive_store{stanza, {}, {}, {}, {}, stamp, true});
          done(j);
        },
        [this, j](caf::error& err) {
          spdlog::error("{}: vhost {}: roster.load_item: {}; a message is "
                        "not archived",
                        tag, domain, caf::to_string(err));
          done(j);
        });
  }

  void remember(const std::string& user) {
    if (known.size() >= 100000)
      known.clear();
    known.insert(user);
  }

  void keep(const side& s, const hooks::archive_store& r) {
    remember(s.user.local());
    row w;
    w.user = s.user.local();
    w.id = s.id;
    w.stamp_us = r.stamp_us;
    w.with_bare = s.with.bare_str();
    w.with_resource = s.with.resource();
    w.outgoing = s.outgoing;
    w.stanza = text_of(r.stanza);
    pending.push_back(std::move(w));
    if (static_cast<int64_t>(pending.size()) >= cfg.batch_max) {
      flush();
    } else if (!flush_scheduled) {
      flush_scheduled = true;
      self->delayed_send(self, cfg.batch, flush_atom::value);
    }
  }

  /// The stanza serialized, once for both sides of a message.
  const std::string& text_of(const xml::element_ptr& s) {
    if (s != last_stanza) {
      last_text = xml::to_string(*s);
      last_stanza = s;
    }
    return last_text;
  }
  xml::element_ptr last_stanza;
  std::string last_text;

  /// Writes the pending rows in one transaction.
  void flush() {
    if (pending.empty())
      return;
    if (auto err = db->append(pending))
      spdlog::error("{}: vhost {}: {} archived messages lost: {}", tag,
                    domain, pending.size(), caf::to_string(err));
    pending.clear();
  }

  void prune() {
    if (cfg.max_age_us <= 0 && cfg.max_messages <= 0)
      return;
    flush();
    auto before = cfg.max_age_us > 0 ? stanza_id::now_us() - cfg.max_age_us
                                     : std::numeric_limits<int64_t>::min();
    auto n = db->prune(before, cfg.max_messages);
    if (!n)
      spdlog::error("{}: vhost {}: retention: {}", tag, domain,
                    caf::to_string(n.error()));
    else if (*n > 0)
      spdlog::info("{}: vhost {}: retention removed {} archived messages",
                   tag, domain, *n);
  }
};

using mam_actor = caf::stateful_actor<mam_state>;

caf::behavior serve(mam_actor* self, std::string tag, std::string domain,
                    std::shared_ptr<backend> db, settings cfg,
                    caf::actor vhost) {
  auto& st = self->state;
  st.self = self;
  st.tag = std::move(tag);
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.cfg = cfg;
  st.vhost = std::move(vhost);
  st.pcache = std::make_unique<prefs_cache>(*st.db, cfg.default_prefs);
  if (auto err = st.db->start())
    spdlog::error("{}: vhost {}: every request fails until the store can "
                  "be used: {}",
                  st.tag, st.domain, caf::to_string(err));
  st.prune();
  self->delayed_send(self, cfg.prune_interval, prune_atom::value);
  // Stopping: what is pending is written.
  self->attach_functor([self] { self->state.flush(); });
  // A graceful stop (the vhost's exit, urgent) must not drop the
  // notifications still queued behind it: a normal message to self
  // comes after them; it writes the last batch and ends the actor.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (self->state.stopping)
      return;
    self->state.stopping = true;
    self->send(self, stop_atom::value, std::move(em.reason));
  });
  return {
    [self](stop_atom, caf::error& reason) {
      self->state.flush();
      self->quit(std::move(reason));
    },
    [self](const hooks::archive_store& r) { self->state.on_store(r); },
    [self](store_batch& b) {
      self->state.on_batch(std::make_shared<const store_batch>(std::move(b)),
                           0);
    },
    [self](flush_atom) {
      self->state.flush_scheduled = false;
      self->state.flush();
    },
    [self](prune_atom) {
      self->state.prune();
      self->delayed_send(self, self->state.cfg.prune_interval,
                         prune_atom::value);
    },
    [self](const hooks::archive_query& r)
      -> caf::result<hooks::answer<std::vector<xml::element_ptr>>> {
      using result = hooks::answer<std::vector<xml::element_ptr>>;
      auto& st = self->state;
      if (r.to.domain() != st.domain)
        return result::decline();
      // A query sees everything archived before it.
      auto q = r.stanza->first_element();
      if (q != nullptr
          && (q->name == "metadata"
              || (q->name == "query" && r.stanza->attr_or("type") == "set")))
        st.flush();
      auto out = answer(*st.db, *st.pcache, st.cfg.pages, r);
      if (!out) {
        spdlog::error("{}: vhost {}: query of {}: {}", st.tag, st.domain,
                      r.from.str(), caf::to_string(out.error()));
        return caf::make_error(caf::sec::runtime_error,
                               st.tag + ": query failed");
      }
      return result::handled(std::move(*out));
    },
  };
}

/// In front of a detached (blocking) archive actor: takes the
/// notifications on the scheduler's threads and hands them over every
/// `batch_ms` or `batch_max` as one message, so that the archive thread
/// wakes a few times per batch instead of once per message (a wake-up
/// of a sleeping thread is a futex call on the delivery path). A query
/// first hands over what is pending (the archive then writes it: a
/// client finds what it was sent). A graceful stop hands over the rest
/// and ends with the archive actor.
struct front_state {
  static inline const char* name = "mam.front";
  std::vector<hooks::archive_store> pending;
  bool scheduled = false;
};

caf::behavior front(caf::stateful_actor<front_state>* self, caf::actor back,
                    settings cfg) {
  self->monitor(back);
  self->set_down_handler([self](caf::down_msg& dm) {
    self->quit(std::move(dm.reason));
  });
  auto hand_over = [self, back] {
    auto& st = self->state;
    if (st.pending.empty())
      return;
    self->send(back, store_batch{std::move(st.pending)});
    st.pending.clear();
  };
  self->set_exit_handler([self, back, hand_over](caf::exit_msg& em) {
    hand_over();
    self->send_exit(back, std::move(em.reason)); // its down ends us
  });
  return {
    [self, cfg, hand_over](const hooks::archive_store& r) {
      auto& st = self->state;
      st.pending.push_back(r);
      if (static_cast<int64_t>(st.pending.size()) >= cfg.batch_max) {
        hand_over();
      } else if (!st.scheduled) {
        st.scheduled = true;
        self->delayed_send(self, cfg.batch, flush_atom::value);
      }
    },
    [self, hand_over](flush_atom) {
      self->state.scheduled = false;
      hand_over();
    },
    [self, back, hand_over](hooks::archive_query& r) {
      hand_over();
      self->delegate(back, std::move(r));
    },
  };
}

} // namespace

plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<backend>(const spawn_context&)> open) {
  for (auto& o : option_specs())
    store_options.push_back(std::move(o));
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table&) { return mam_manifest(); },
    [name, open](const spawn_context& ctx) {
      auto db = open(ctx);
      auto cfg = settings_of(ctx, name);
      if (db->blocking())
        return ctx.sys.spawn(front,
                             ctx.sys.spawn<caf::detached>(
                               serve, std::string{name}, ctx.domain, db,
                               cfg, ctx.vhost_actor),
                             cfg);
      return ctx.sys.spawn(serve, std::string{name}, ctx.domain, db, cfg,
                           ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins::mam

// The archive feature actor (plugins/mam/serve.hpp): XEP-0313 user
// archives over a backend. Archiving never waits on the database: rows
// gather in memory and go in one transaction every `batch_ms` or
// `batch_max` rows; a query writes what is pending first, so a client
// always finds what it was sent. A graceful stop archives everything
// queued before it. A blocking backend's actor is detached and sits
// behind a scheduled front actor (front()) that hands it the
// notifications in batches. A write that fails is logged with the
// rows lost (the messages themselves were delivered). The front keeps
// the detached archive's backlog under `max_backlog` messages: past it
// a message is not archived (it was delivered), counted and logged.

#include "plugins/mam/serve.hpp"

#include <atomic>
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

/// Messages the front took and the archive actor has not decided yet
/// (written to its pending rows, or dropped by preferences): the backlog
/// that `max_backlog` bounds. The front adds, the archive subtracts.
struct backlog {
  std::atomic<int64_t> waiting{0};
};

} // namespace dja::plugins::mam::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dja::plugins::mam::detail::store_batch)

namespace dja::plugins::mam {

namespace {

using detail::backlog;
using detail::store_batch;

using flush_atom = caf::atom_constant<caf::atom("mamflush")>;
using prune_atom = caf::atom_constant<caf::atom("mamprune")>;
using stop_atom = caf::atom_constant<caf::atom("mamstop")>;
using report_atom = caf::atom_constant<caf::atom("mammiss")>;

/// How often the front logs messages it could not archive.
constexpr auto miss_report_interval = std::chrono::seconds(10);

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
  /// The rows of the next write: the first `used` of `pending`. The rows
  /// are kept between writes and overwritten, so that their strings keep
  /// their buffers (no allocation per row on the archive's thread).
  std::vector<row> pending;
  size_t used = 0;
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
    int64_t decided = 0;
    for (; i < b->items.size(); ++i) {
      auto j = std::make_shared<join>();
      on_store(b->items[i], j);
      if (--j->left > 0) {
        j->k = [this, b, i] {
          leave(1);
          on_batch(b, i + 1);
        };
        break;
      }
      ++decided;
    }
    leave(decided);
  }

  /// `n` messages of the backlog are decided.
  void leave(int64_t n) {
    if (queue && n > 0)
      queue->waiting.fetch_sub(n, std::memory_order_relaxed);
  }

  /// Shared with the front (detached archives only).
  std::shared_ptr<backlog> queue;

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
    if (used == pending.size())
      pending.emplace_back();
    auto& w = pending[used++];
    w.seq = 0;
    w.user = s.user.local();
    w.id = s.id;
    w.stamp_us = r.stamp_us;
    w.with_bare.clear();
    w.with_bare.append(s.with.local());
    if (!s.with.local().empty())
      w.with_bare += '@';
    w.with_bare += s.with.domain();
    w.with_resource = s.with.resource();
    w.outgoing = s.outgoing;
    w.stanza = text_of(r.stanza);
    if (static_cast<int64_t>(used) >= cfg.batch_max) {
      flush();
    } else if (!flush_scheduled) {
      flush_scheduled = true;
      self->delayed_send(self, cfg.batch, flush_atom::value);
    }
  }

  /// The stanza serialized, once for both sides of a message.
  const std::string& text_of(const xml::element_ptr& s) {
    if (s != last_stanza) {
      last_text.clear();
      xml::serialize(*s, last_text);
      last_stanza = s;
    }
    return last_text;
  }
  xml::element_ptr last_stanza;
  std::string last_text;

  /// Writes the pending rows in one transaction.
  void flush() {
    if (used == 0)
      return;
    if (auto err = db->append(pending.data(), used))
      spdlog::error("{}: vhost {}: {} archived messages lost: {}", tag,
                    domain, used, caf::to_string(err));
    used = 0;
    last_stanza = nullptr; // not kept alive until the next message
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
                    caf::actor vhost, std::shared_ptr<backlog> queue) {
  auto& st = self->state;
  st.self = self;
  st.queue = std::move(queue);
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
///
/// Backlog: the notifications taken and not yet decided by the archive
/// (detail::backlog). At `max_backlog` a notification is dropped: the
/// message was delivered (or stored offline) already and keeps its
/// stanza-id, but no archive row; the drops are counted and logged
/// every `miss_report_interval` while they go on, and at the end.
struct front_state {
  static inline const char* name = "mam.front";
  std::vector<hooks::archive_store> pending;
  bool scheduled = false;
  std::shared_ptr<backlog> queue;
  std::string tag;
  std::string domain;
  int64_t max_backlog = 0;
  uint64_t missed = 0;       ///< not archived, not logged yet
  uint64_t missed_total = 0; ///< not archived since the start
  bool report_scheduled = false;

  /// Logs the drops not logged yet.
  void report() {
    if (missed == 0)
      return;
    spdlog::warn("{}: vhost {}: archive backlog at max_backlog ({} "
                 "messages): {} messages delivered but not archived ({} "
                 "since the start; {} waiting to be written now)",
                 tag, domain, max_backlog, missed, missed_total,
                 queue->waiting.load(std::memory_order_relaxed));
    missed = 0;
  }
};

caf::behavior front(caf::stateful_actor<front_state>* self, caf::actor back,
                    settings cfg, std::shared_ptr<backlog> queue,
                    std::string tag, std::string domain) {
  self->state.queue = std::move(queue);
  self->state.tag = std::move(tag);
  self->state.domain = std::move(domain);
  self->state.max_backlog = cfg.max_backlog;
  self->monitor(back);
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.report();
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
    [self, cfg, hand_over](hooks::archive_store& r) {
      auto& st = self->state;
      if (st.queue->waiting.load(std::memory_order_relaxed)
          >= cfg.max_backlog) {
        ++st.missed;
        ++st.missed_total;
        if (!st.report_scheduled) { // the first drop at once, then batched
          st.report();
          st.report_scheduled = true;
          self->delayed_send(self, miss_report_interval, report_atom::value);
        }
        return;
      }
      st.queue->waiting.fetch_add(1, std::memory_order_relaxed);
      st.pending.push_back(std::move(r));
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
    [self](report_atom) {
      auto& st = self->state;
      st.report_scheduled = st.missed > 0;
      st.report();
      if (st.report_scheduled)
        self->delayed_send(self, miss_report_interval, report_atom::value);
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
      if (db->blocking()) {
        auto queue = std::make_shared<backlog>();
        return ctx.sys.spawn(front,
                             ctx.sys.spawn<caf::detached>(
                               serve, std::string{name}, ctx.domain, db,
                               cfg, ctx.vhost_actor, queue),
                             cfg, queue, std::string{name}, ctx.domain);
      }
      return ctx.sys.spawn(serve, std::string{name}, ctx.domain, db, cfg,
                           ctx.vhost_actor, std::shared_ptr<backlog>{});
    },
  };
}

} // namespace dja::plugins::mam

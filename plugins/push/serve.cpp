// The push feature actor (plugins/push/serve.hpp), XEP-0357 §5 and §6:
// a bound resource enables notifications to an app server's node (with
// publish-options, e.g. a secret) and disables them, for one node or
// every node of an app server. One registration per jid+node; enabling
// the same again replaces it (the device's resource and form are the
// newest). An account keeps at most `max_registrations`: apps that are
// uninstalled never disable, so the least recently enabled goes first
// rather than refusing the new device.

#include "plugins/push/serve.hpp"

#include <random>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/namespaces.hpp"
#include "plugins/common/bounded_option.hpp"
#include "plugins/push/state.hpp"

namespace dja::plugins::push {

namespace {

using docs::error;

} // namespace

reply_t push_state::on_iq(const hooks::iq_request& r) {
  auto e = r.stanza->first_element();
  if (e == nullptr || e->ns != ns_push
      || (e->name != "enable" && e->name != "disable"))
    return error(r, "bad-request");
  // §5: a client of the account itself, to its own account (no `to`)
  // or to its server.
  if (r.from.local().empty() || r.from.domain() != domain
      || !(docs::own(r) || r.to.local().empty()))
    return error(r, "forbidden");
  return e->name == "enable" ? enable(r, *e) : disable(r, *e);
}

bool push_state::make_room(const std::string& user, const std::string& key) {
  auto keys = db->sizes(user);
  if (!keys) {
    docs::failed(tag, domain, "enable", keys.error());
    return false;
  }
  if (keys->count(key) > 0
      || static_cast<int64_t>(keys->size()) < opts.max_registrations)
    return true;
  std::string oldest;
  int64_t at = INT64_MAX;
  for (auto& [k, _] : *keys)
    if (auto d = db->get(user, k); d && d->updated < at) {
      at = d->updated;
      oldest = k;
    }
  spdlog::info("{}: vhost {}: {} has {} push registrations; the oldest "
               "({}) goes",
               tag, domain, user, keys->size(), app_of_key(oldest));
  return !db->remove(user, oldest);
}

reply_t push_state::enable(const hooks::iq_request& r,
                           const xml::element& e) {
  auto p = parse_enable(e, r.from.resource());
  if (!p.reg)
    return error(r, p.error, p.text);
  auto user = r.from.local();
  auto key = p.reg->key();
  if (!make_room(user, key))
    return error(r, "internal-server-error");
  auto value = xml::to_string(p.reg->to_xml());
  if (auto err = db->put(user, {{key, value}}, docs::unix_now())) {
    docs::failed(tag, domain, "enable", err);
    return error(r, "internal-server-error");
  }
  bursts.erase(user + "\n" + key); // a new device starts afresh
  spdlog::info("{}: vhost {}: {} enabled push to {} node '{}'", tag, domain,
               r.from.str(), p.reg->app.str(), p.reg->node);
  return docs::empty_result(r);
}

reply_t push_state::disable(const hooks::iq_request& r,
                            const xml::element& e) {
  auto app = e.attr("jid");
  if (app == nullptr || app->empty())
    return error(r, "bad-request", "missing jid");
  auto j = jid::parse(*app);
  if (!j)
    return error(r, "jid-malformed");
  auto user = r.from.local();
  std::vector<std::string> gone;
  if (auto node = e.attr("node")) {
    gone.push_back(key_of(*j, *node));
  } else { // §6: every node of that app server
    auto keys = db->sizes(user);
    if (!keys) {
      docs::failed(tag, domain, "disable", keys.error());
      return error(r, "internal-server-error");
    }
    for (auto& [k, _] : *keys)
      if (app_of_key(k) == j->str())
        gone.push_back(k);
  }
  for (auto& k : gone) {
    if (auto err = db->remove(user, k)) {
      docs::failed(tag, domain, "disable", err);
      return error(r, "internal-server-error");
    }
    bursts.erase(user + "\n" + k);
  }
  spdlog::info("{}: vhost {}: {} disabled push to {}", tag, domain,
               r.from.str(), j->str());
  return docs::empty_result(r);
}

namespace {

caf::behavior serve(push_actor* self, std::string tag, std::string domain,
                    std::shared_ptr<docs::store> db, settings opts) {
  auto& st = self->state;
  st.tag = std::move(tag);
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.opts = opts;
  std::random_device rd;
  st.id_prefix = "push-" + std::to_string(rd()) + "-";
  docs::start(*st.db, st.tag, st.domain);
  return {
    [self](const hooks::iq_request& r) -> reply_t {
      auto& st = self->state;
      auto type = r.stanza->attr_or("type");
      if (type == "result" || type == "error")
        return st.on_answer(r) ? reply_t::handled(nullptr)
                               : reply_t::decline();
      if (r.to.domain() != st.domain)
        return reply_t::decline();
      return st.on_iq(r);
    },
    [self](const hooks::push_wake& w) { self->state.on_wake(w); },
  };
}

} // namespace

plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open) {
  auto& o = store_options;
  o.push_back({"include_sender", option_type::boolean, false,
               "the summary names the sender (last-message-sender; "
               "default true)"});
  o.push_back({"include_body", option_type::boolean, false,
               "the summary carries the message text (last-message-body): "
               "the app server and the phone vendor's push service read "
               "it (default false)"});
  o.push_back({"burst_s", option_type::integer, false,
               "seconds after a notification during which further "
               "messages for the same registration only count (default "
               "30)"});
  o.push_back({"max_registrations", option_type::integer, false,
               "app server nodes per account; one more replaces the least "
               "recently enabled (default 16)"});
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table&) {
      // The answers to our notifications come as "error NS" of their
      // first child: the <error/> (jabber:client, jabber:server over
      // s2s) or our <pubsub/> sent back.
      manifest m{{hooks::id<hooks::push_wake>},
                 {std::string{"set "} + ns_push, "error jabber:client",
                  "error jabber:server", std::string{"error "} + ns_pubsub},
                 {},
                 {},
                 {}};
      m.account_features = {ns_push}; // XEP-0357 §4, on the bare JID
      return m;
    },
    [name, open](const spawn_context& ctx) {
      settings s;
      s.include_sender = ctx.options["include_sender"].value_or(true);
      s.include_body = ctx.options["include_body"].value_or(false);
      s.burst = std::chrono::seconds(
        bounded_option(ctx, name, "burst_s", 30, 0));
      s.max_registrations =
        bounded_option(ctx, name, "max_registrations", 16, 1);
      auto db = open(ctx);
      return docs::spawn(ctx, *db, serve, std::string{name}, ctx.domain, db,
                         s);
    },
  };
}

} // namespace dja::plugins::push

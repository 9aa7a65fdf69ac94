// The vCard feature actor (plugins/vcard/serve.hpp): XEP-0054 vcard-temp,
// one vCard per account. Anyone may get a user's vCard from the user's
// bare JID; only the user may set it (§3.2). A storage failure is replied
// as an error (the vhost answers <internal-server-error/>).

#include "plugins/vcard/serve.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins::vcard {

namespace {

using docs::error;
using docs::reply_t;

constexpr int64_t default_max_bytes = 65536;

/// A result carrying `vcard` (or an empty <vCard/>).
reply_t result(const hooks::iq_request& r, const xml::element_ptr& vcard) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  reply->add_child(vcard ? *vcard : xml::element{"vCard", ns_vcard});
  return reply_t::handled(reply);
}

struct vcard_state {
  static inline const char* name = "vcard";

  std::string tag;
  std::string domain;
  size_t max_bytes = default_max_bytes;
  caf::actor vhost;
  std::shared_ptr<docs::store> db;
  avatar_cache avatars;

  /// The stored vCard of `local` (nullptr: none stored); failures logged.
  caf::expected<xml::element_ptr> load(const std::string& local) {
    return docs::parsed(db->get(local, ""), tag, domain, "get", local);
  }
};

using vcard_actor = caf::stateful_actor<vcard_state>;

caf::result<reply_t> set_vcard(vcard_actor* self, const hooks::iq_request& r,
                               const xml::element& vcard) {
  auto& st = self->state;
  // XEP-0054 §3.2: a user sets her own vCard only (no 'to', or her own
  // bare JID); anything else is refused, never stored.
  if (!docs::own(r))
    return error(r, "forbidden");
  auto text = xml::to_string(vcard);
  if (text.size() > st.max_bytes) {
    spdlog::info("{}: vhost {}: vCard of {} refused: {} bytes, max_bytes "
                 "is {}",
                 st.tag, st.domain, r.to.local(), text.size(), st.max_bytes);
    return error(r, "not-acceptable",
                 "vCard larger than " + std::to_string(st.max_bytes)
                   + " bytes");
  }
  // An empty <vCard/> clears the stored one.
  auto err = vcard.children.empty()
               ? st.db->remove(r.to.local(), "")
               : st.db->put(r.to.local(), {{"", text}}, docs::unix_now());
  if (err)
    return docs::failed(st.tag, st.domain, "set", err);
  st.avatars.forget(r.to.local()); // the next presence announces it
  return docs::empty_result(r);
}

caf::result<reply_t> get_vcard(vcard_actor* self, const hooks::iq_request& r) {
  auto& st = self->state;
  // The server domain has no vCard of its own.
  if (r.to.local().empty())
    return error(r, "item-not-found");
  auto vcard = st.load(r.to.local());
  if (!vcard)
    return vcard.error();
  if (*vcard)
    return result(r, *vcard);
  // Nothing stored: an empty <vCard/> (XEP-0054 §3.1), for an account that
  // exists; no such account -> <service-unavailable/> (RFC 6121 §8.5.1).
  if (docs::own(r) || !st.vhost)
    return result(r, nullptr);
  auto rp = self->make_response_promise<reply_t>();
  self->request(st.vhost, std::chrono::seconds(10),
                hooks::auth_user_exists{r.to})
    .then(
      [rp, r](bool exists) mutable {
        rp.deliver(exists ? result(r, nullptr)
                          : error(r, "service-unavailable"));
      },
      [rp, self](caf::error& err) mutable {
        auto& st = self->state;
        rp.deliver(docs::failed(st.tag, st.domain, "user_exists", err));
      });
  return rp;
}

caf::behavior serve(vcard_actor* self, std::string tag, std::string domain,
                    std::shared_ptr<docs::store> db, size_t max_bytes,
                    caf::actor vhost) {
  auto& st = self->state;
  st.tag = std::move(tag);
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.max_bytes = max_bytes;
  st.vhost = std::move(vhost);
  docs::start(*st.db, st.tag, st.domain);
  return {
    [self](const hooks::iq_request& r) -> caf::result<reply_t> {
      if (r.to.domain() != self->state.domain)
        return reply_t::decline();
      auto q = r.stanza->first_element();
      if (q == nullptr || q->name != "vCard" || q->ns != ns_vcard)
        return error(r, "bad-request");
      if (r.stanza->attr_or("type") == "set")
        return set_vcard(self, r, *q);
      return get_vcard(self, r);
    },
    [self](const hooks::presence_alter_available& r) {
      auto& st = self->state;
      return st.avatars.alter(r, st.domain, [&st](const std::string& local) {
        return st.load(local);
      });
    },
  };
}

} // namespace

plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<docs::store>(const spawn_context&)>
            open) {
  store_options.push_back(
    {"max_bytes", option_type::integer, false,
     "largest vCard accepted, serialized, in bytes (default 65536)"});
  store_options.push_back(avatar_hash_option());
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table& opts) { return vcard_manifest(opts); },
    [name, open](const spawn_context& ctx) {
      auto n = ctx.options["max_bytes"].value_or(default_max_bytes);
      if (n < 1) {
        spdlog::warn("{}: vhost {}: max_bytes = {} is not positive; using {}",
                     name, ctx.domain, n, default_max_bytes);
        n = default_max_bytes;
      }
      auto db = open(ctx);
      return docs::spawn(ctx, *db, serve, std::string{name}, ctx.domain, db,
                         static_cast<size_t>(n), ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins::vcard

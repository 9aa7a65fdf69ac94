// vcard.sqlite: XEP-0054 vcard-temp, one vCard per account in an SQLite
// database (plugins/vcard/sqlite/doc_store.hpp has the schema). Anyone may
// get a user's vCard from the user's bare JID; only the user may set it.
// SQLite calls block: the actor is detached. A storage failure is replied
// as an error (the vhost answers <internal-server-error/>).
// With `avatar_hash` (default on) it also serves presence.alter_available:
// XEP-0153 avatar hashes in the user's available presence.

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/plugin.hpp"
#include "plugins/vcard/sqlite/doc_store.hpp"
#include "plugins/vcard/sqlite/photo_hash.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using reply_t = answer<xml::element_ptr>;
using sqlite_docs::store;

constexpr const char* ns_vcard = "vcard-temp";
constexpr const char* ns_update = "vcard-temp:x:update"; // XEP-0153
constexpr int64_t default_max_bytes = 65536;

reply_t error(const hooks::iq_request& r, const char* cond,
              std::string_view text = {}) {
  return reply_t::handled(errors::stanza_error(*r.stanza, cond, text));
}

/// A result carrying `vcard` (or an empty <vCard/>).
reply_t result(const hooks::iq_request& r, const xml::element_ptr& vcard) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  reply->add_child(vcard ? *vcard : xml::element{"vCard", ns_vcard});
  return reply_t::handled(reply);
}

struct vcard_state {
  static inline const char* name = "vcard.sqlite";

  std::string domain;
  std::string path;
  size_t max_bytes = default_max_bytes;
  caf::actor vhost;
  std::unique_ptr<store> db;
  /// XEP-0153 photo hash per local part ("" = no photo; nullopt = a
  /// BINVAL that is not base64: nothing announced). Filled at a user's
  /// available presence, dropped when she sets her vCard.
  std::unordered_map<std::string, std::optional<std::string>> hashes;

  /// The store, opened on first use (and again after a failed open).
  caf::expected<store*> open() {
    if (db)
      return db.get();
    auto st = store::open(path, "vcards");
    if (!st)
      return failed("open", st.error());
    db = std::move(*st);
    spdlog::debug("vcard.sqlite: vhost {}: using {}", domain, path);
    return db.get();
  }

  /// Logs a storage failure and returns it (replied to the vhost).
  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("vcard.sqlite: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"vcard.sqlite: "} + op + " failed");
  }
};

using vcard_actor = caf::stateful_actor<vcard_state>;

caf::result<reply_t> set_vcard(vcard_actor* self, const hooks::iq_request& r,
                               const xml::element& vcard) {
  auto& st = self->state;
  // XEP-0054 §3.2: a user sets her own vCard only (no 'to', or her own
  // bare JID); anything else is refused, never stored.
  bool own = !r.from.local().empty() && r.to.local() == r.from.local()
             && r.to.domain() == r.from.domain();
  if (!own)
    return error(r, "forbidden");
  auto text = xml::to_string(vcard);
  if (text.size() > st.max_bytes)
    return error(r, "not-acceptable",
                 "vCard larger than " + std::to_string(st.max_bytes)
                   + " bytes");
  auto db = st.open();
  if (!db)
    return db.error();
  // An empty <vCard/> clears the stored one.
  auto err = vcard.children.empty()
               ? (*db)->remove(st.domain, r.to.local(), "")
               : (*db)->put(st.domain, r.to.local(), {{"", text}},
                            static_cast<int64_t>(std::time(nullptr)));
  if (err)
    return st.failed("set", err);
  st.hashes.erase(r.to.local()); // the next presence announces the new one
  return reply_t::handled(
    std::make_shared<xml::element>(errors::iq_result(*r.stanza)));
}

caf::result<reply_t> get_vcard(vcard_actor* self, const hooks::iq_request& r) {
  auto& st = self->state;
  // The server domain has no vCard of its own.
  if (r.to.local().empty())
    return error(r, "item-not-found");
  auto db = st.open();
  if (!db)
    return db.error();
  auto d = (*db)->get(st.domain, r.to.local(), "");
  if (!d)
    return st.failed("get", d.error());
  if (d->found) {
    auto vcard = sqlite_docs::parse_element(d->value);
    if (!vcard)
      return st.failed("get", caf::make_error(caf::sec::runtime_error,
                                              "corrupt vCard of "
                                                + r.to.local()));
    return result(r, vcard);
  }
  // Nothing stored: an empty <vCard/> (XEP-0054 §3.1), for an account that
  // exists; no such account -> <service-unavailable/> (RFC 6121 §8.5.1).
  bool own = r.to.local() == r.from.local()
             && r.to.domain() == r.from.domain();
  if (own || !st.vhost)
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
        rp.deliver(self->state.failed("user_exists", err));
      });
  return rp;
}

using verdict_t = answer<hooks::filter_verdict>;

/// XEP-0153 §3.2: the user's available presence carries the hash
/// of her vCard's photo (an empty <photo/> when she has none), unless her
/// client put an x:update element there itself.
caf::result<verdict_t> add_photo_hash(vcard_actor* self,
                                      const hooks::presence_alter_available& r) {
  auto& st = self->state;
  if (r.user.domain() != st.domain || r.user.local().empty()
      || r.stanza->child("x", ns_update) != nullptr)
    return verdict_t::decline();
  auto i = st.hashes.find(r.user.local());
  if (i == st.hashes.end()) {
    auto db = st.open();
    if (!db)
      return verdict_t::decline(); // logged; the presence goes out as is
    auto d = (*db)->get(st.domain, r.user.local(), "");
    if (!d) {
      st.failed("get", d.error());
      return verdict_t::decline();
    }
    std::optional<std::string> hash = std::string{};
    if (d->found) {
      auto vcard = sqlite_docs::parse_element(d->value);
      if (!vcard) {
        st.failed("get", caf::make_error(caf::sec::runtime_error,
                                         "corrupt vCard of " + r.user.local()));
        return verdict_t::decline();
      }
      hash = vcard::photo_hash(*vcard);
    }
    i = st.hashes.emplace(r.user.local(), std::move(hash)).first;
  }
  if (!i->second)
    return verdict_t::decline();
  auto out = std::make_shared<xml::element>(*r.stanza);
  auto& photo = out->add_child(xml::element{"x", ns_update})
                  .add_child(xml::element{"photo", ns_update});
  if (!i->second->empty())
    photo.add_text(*i->second);
  return verdict_t::handled({out, {}});
}

caf::behavior vcard_sqlite(vcard_actor* self, std::string domain,
                           std::string path, size_t max_bytes,
                           caf::actor vhost) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.path = std::move(path);
  st.max_bytes = max_bytes;
  st.vhost = std::move(vhost);
  if (auto db = st.open(); !db)
    spdlog::error("vcard.sqlite: vhost {}: every request fails until {} can "
                  "be opened", st.domain, st.path);
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
      return add_photo_hash(self, r);
    },
  };
}

} // namespace

plugin_type vcard_sqlite_type() {
  return {
    "vcard.sqlite",
    "XEP-0054 vcard-temp, vCards stored in an SQLite database",
    {{"file", option_type::string, false,
      "database file, relative to server.data_dir (default "
      "\"vcards.sqlite\")"},
     {"max_bytes", option_type::integer, false,
      "largest vCard accepted, serialized, in bytes (default 65536)"},
     {"avatar_hash", option_type::boolean, false,
      "add the XEP-0153 photo hash to users' available presence "
      "(default true)"}},
    [](const toml::table& opts) {
      std::vector<std::string> served;
      if (opts["avatar_hash"].value_or(true))
        served.push_back(hooks::presence_alter_available::name);
      return manifest{std::move(served),
                      {std::string{"get "} + ns_vcard,
                       std::string{"set "} + ns_vcard},
                      {ns_vcard},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto file = ctx.options["file"].value_or(std::string{"vcards.sqlite"});
      auto path = (std::filesystem::path{ctx.data_dir} / file).string();
      auto n = ctx.options["max_bytes"].value_or(default_max_bytes);
      if (n < 1) {
        spdlog::warn("vcard.sqlite: vhost {}: max_bytes = {} is not "
                     "positive; using {}", ctx.domain, n, default_max_bytes);
        n = default_max_bytes;
      }
      return ctx.sys.spawn<caf::detached>(vcard_sqlite, ctx.domain, path,
                                          static_cast<size_t>(n),
                                          ctx.vhost_actor);
    },
  };
}

} // namespace dja::plugins

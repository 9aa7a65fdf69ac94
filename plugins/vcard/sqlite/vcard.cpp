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

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/vcard/sqlite/doc_store.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins {

namespace {

using hooks::answer;
using reply_t = answer<xml::element_ptr>;
using sqlite_docs::store;

using vcard::ns_vcard;
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
  vcard::avatar_cache avatars;

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

  /// The stored vCard of `local` (nullptr: none stored); failures logged.
  caf::expected<xml::element_ptr> load(const std::string& local) {
    auto db = open();
    if (!db)
      return db.error();
    auto d = (*db)->get(domain, local, "");
    if (!d)
      return failed("get", d.error());
    if (!d->found)
      return xml::element_ptr{};
    auto vcard = sqlite_docs::parse_element(d->value);
    if (!vcard)
      return failed("get", caf::make_error(caf::sec::runtime_error,
                                           "corrupt vCard of " + local));
    return vcard;
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
  st.avatars.forget(r.to.local()); // the next presence announces it
  return reply_t::handled(
    std::make_shared<xml::element>(errors::iq_result(*r.stanza)));
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
      auto& st = self->state;
      return st.avatars.alter(r, st.domain, [&st](const std::string& local) {
        return st.load(local);
      });
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
     vcard::avatar_hash_option()},
    [](const toml::table& opts) { return vcard::vcard_manifest(opts); },
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

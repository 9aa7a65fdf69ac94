// private.pgsql: XEP-0049 Private XML Storage (jabber:iq:private) in
// PostgreSQL (plugins/common/pgsql/doc_store.hpp has the schema, table
// `private_xml`), with the behaviour of private.sqlite: one stored element
// per account and (namespace, name). Only the account itself may read or
// write its data. libpq calls block: the actor is detached. A storage
// failure (the database down included) is replied as an error (the vhost
// answers <internal-server-error/>).

#include <ctime>
#include <memory>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/pgsql/doc_store.hpp"
#include "plugins/common/pgsql/options.hpp"
#include "plugins/vcard/sqlite/doc_store.hpp" // parse_element

namespace dja::plugins {

namespace {

using hooks::answer;
using reply_t = answer<xml::element_ptr>;
using store = pgsql::doc_store;

constexpr const char* ns_private = "jabber:iq:private";
constexpr int64_t default_max_bytes = 65536;

reply_t error(const hooks::iq_request& r, const char* cond,
              std::string_view text = {}) {
  return reply_t::handled(errors::stanza_error(*r.stanza, cond, text));
}

/// The storage key of an element: "{namespace}name".
std::string key_of(const xml::element& e) {
  return "{" + e.ns + "}" + e.name;
}

/// XEP-0049 §3: data may not be stored in the reserved jabber:* namespaces
/// (a child written without xmlns is in jabber:iq:private, so it is
/// refused too).
bool reserved(const xml::element& e) {
  return e.ns.empty() || e.ns.compare(0, 7, "jabber:") == 0;
}

struct private_state {
  static inline const char* name = "private.pgsql";

  std::string domain;
  size_t max_bytes = default_max_bytes;
  std::unique_ptr<store> db;

  /// The store; it reconnects by itself (an error while the database
  /// is down).
  caf::expected<store*> open() {
    return db.get();
  }


  caf::error failed(const char* op, const caf::error& err) const {
    spdlog::error("private.pgsql: vhost {}: {}: {}", domain, op,
                  caf::to_string(err));
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"private.pgsql: "} + op + " failed");
  }
};

using private_actor = caf::stateful_actor<private_state>;

caf::result<reply_t> handle(private_actor* self, const hooks::iq_request& r) {
  auto& st = self->state;
  auto q = r.stanza->first_element();
  if (q == nullptr || q->name != "query" || q->ns != ns_private)
    return error(r, "bad-request");
  // XEP-0049 §3: another user's data (or the server's) -> <forbidden/>.
  bool own = !r.from.local().empty() && r.to.local() == r.from.local()
             && r.to.domain() == r.from.domain();
  if (!own)
    return error(r, "forbidden");
  auto children = q->elements();
  bool is_set = r.stanza->attr_or("type") == "set";
  // XEP-0049 §3: at least one child (a get without one: "Bad Format");
  // a get asks for exactly one.
  if (children.empty())
    return error(r, is_set ? "not-acceptable" : "bad-request");
  if (!is_set && children.size() > 1)
    return error(r, "bad-request", "one namespace per get");
  for (auto* c : children)
    if (reserved(*c))
      return error(r, "not-acceptable", "reserved namespace");
  auto db = st.open();
  if (!db)
    return db.error();
  if (is_set) {
    std::vector<std::pair<std::string, std::string>> docs;
    size_t total = 0;
    for (auto* c : children) {
      docs.emplace_back(key_of(*c), xml::to_string(*c));
      total += docs.back().second.size();
    }
    if (total > st.max_bytes)
      return error(r, "not-acceptable",
                   "private data larger than " + std::to_string(st.max_bytes)
                     + " bytes");
    if (auto err = (*db)->put(st.domain, r.to.local(), docs,
                              static_cast<int64_t>(std::time(nullptr))))
      return st.failed("set", err);
    return reply_t::handled(
      std::make_shared<xml::element>(errors::iq_result(*r.stanza)));
  }
  auto& want = *children.front();
  auto d = (*db)->get(st.domain, r.to.local(), key_of(want));
  if (!d)
    return st.failed("get", d.error());
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& out = reply->add_child(xml::element{"query", ns_private});
  if (!d->found) {
    out.add_child(want); // nothing stored: the element as asked
    return reply_t::handled(reply);
  }
  auto stored = sqlite_docs::parse_element(d->value);
  if (!stored)
    return st.failed("get", caf::make_error(caf::sec::runtime_error,
                                            "corrupt private data of "
                                              + r.to.local()));
  out.add_child(*stored);
  return reply_t::handled(reply);
}

caf::behavior private_pgsql(private_actor* self, std::string domain,
                            pgsql::settings cfg, size_t max_bytes) {
  auto& st = self->state;
  st.domain = std::move(domain);
  st.max_bytes = max_bytes;
  st.db = std::make_unique<store>(std::move(cfg), "private_xml");
  if (auto err = st.db->connect())
    spdlog::error("private.pgsql: vhost {}: every request fails until the "
                  "database can be reached", st.domain);
  return {
    [self](const hooks::iq_request& r) -> caf::result<reply_t> {
      if (r.to.domain() != self->state.domain)
        return reply_t::decline();
      return handle(self, r);
    },
  };
}

} // namespace

plugin_type private_pgsql_type() {
  return {
    "private.pgsql",
    "XEP-0049 Private XML Storage in PostgreSQL",
    pgsql::options({{"max_bytes", option_type::integer, false,
                     "largest set accepted (its stored elements together, "
                     "serialized), in bytes (default 65536)"}}),
    [](const toml::table&) {
      // XEP-0049 defines no disco feature.
      return manifest{{},
                      {std::string{"get "} + ns_private,
                       std::string{"set "} + ns_private},
                      {},
                      {},
                      {}};
    },
    [](const spawn_context& ctx) {
      auto n = ctx.options["max_bytes"].value_or(default_max_bytes);
      if (n < 1) {
        spdlog::warn("private.pgsql: vhost {}: max_bytes = {} is not "
                     "positive; using {}", ctx.domain, n, default_max_bytes);
        n = default_max_bytes;
      }
      return ctx.sys.spawn<caf::detached>(private_pgsql, ctx.domain,
                                          pgsql::settings_of(ctx, "private.pgsql"),
                                          static_cast<size_t>(n));
    },
  };
}

} // namespace dja::plugins

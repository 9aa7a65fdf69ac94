// The private XML feature actor (plugins/private/serve.hpp): XEP-0049
// Private XML Storage, one stored element per account and (namespace,
// name). Only the account itself may read or write its data (§3). A
// storage failure is replied as an error (the vhost answers
// <internal-server-error/>).
//
// Bounds: one set is at most `max_bytes` (its elements serialized), and
// an account keeps at most `quota` bytes in all. Beyond either the set is
// refused with <not-acceptable/> (the condition XEP-0049 §3 uses for data
// the server will not store; RFC 6120 §8.3.3.12: the request does not
// meet criteria defined by the server, type "modify": a smaller set may
// succeed, unlike <resource-constraint/> of type "wait", which would
// invite the client to retry the same set), nothing stored, and a log
// line.

#include "plugins/private/serve.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/common/docs/iq.hpp"
#include "plugins/common/bounded_option.hpp"

namespace dja::plugins::private_xml {

namespace {

using docs::error;
using docs::reply_t;

constexpr const char* ns_private = "jabber:iq:private";
constexpr int64_t default_max_bytes = 65536;
/// 1 MiB per account: bookmarks, roster delimiters and client settings
/// take a few KiB; 16 sets of the largest size still fit.
constexpr int64_t default_quota = 1024 * 1024;

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

struct limits {
  int64_t max_bytes = default_max_bytes;
  int64_t quota = default_quota; ///< 0: none
};

struct private_state {
  static inline const char* name = "private";

  std::string tag;
  std::string domain;
  limits bounds;
  std::shared_ptr<docs::store> db;

  /// Refuses `r` for going over a bound: logged, <not-acceptable/>.
  reply_t too_big(const hooks::iq_request& r, const char* what,
                  int64_t bytes, int64_t limit) const {
    spdlog::info("{}: vhost {}: set of {} refused: {} {} bytes, over {}",
                 tag, domain, r.to.local(), what, bytes, limit);
    return error(r, "not-acceptable",
                 std::string{what} + " larger than "
                   + std::to_string(limit) + " bytes");
  }
};

using private_actor = caf::stateful_actor<private_state>;

caf::result<reply_t> set(private_actor* self, const hooks::iq_request& r,
                         const std::vector<const xml::element*>& children) {
  auto& st = self->state;
  docs::doc_list docs;
  int64_t total = 0;
  for (auto* c : children) {
    docs.emplace_back(key_of(*c), xml::to_string(*c));
    total += static_cast<int64_t>(docs.back().second.size());
  }
  if (total > st.bounds.max_bytes)
    return st.too_big(r, "private data", total, st.bounds.max_bytes);
  if (st.bounds.quota > 0) {
    // What the account keeps after the set: the new elements and the
    // stored ones they do not replace.
    auto sizes = st.db->sizes(r.to.local());
    if (!sizes)
      return docs::failed(st.tag, st.domain, "set", sizes.error());
    auto after = total;
    for (auto& [key, n] : *sizes) {
      bool replaced = false;
      for (auto& d : docs)
        replaced = replaced || d.first == key;
      if (!replaced)
        after += n;
    }
    if (after > st.bounds.quota)
      return st.too_big(r, "private storage of the account", after,
                        st.bounds.quota);
  }
  if (auto err = st.db->put(r.to.local(), docs, docs::unix_now()))
    return docs::failed(st.tag, st.domain, "set", err);
  return docs::empty_result(r);
}

caf::result<reply_t> get(private_actor* self, const hooks::iq_request& r,
                         const xml::element& want) {
  auto& st = self->state;
  auto stored = docs::parsed(st.db->get(r.to.local(), key_of(want)), st.tag,
                             st.domain, "get", r.to.local());
  if (!stored)
    return stored.error();
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& out = reply->add_child(xml::element{"query", ns_private});
  // Nothing stored: the element as asked (as ejabberd and Prosody do).
  out.add_child(*stored ? **stored : want);
  return reply_t::handled(reply);
}

caf::result<reply_t> handle(private_actor* self, const hooks::iq_request& r) {
  auto q = r.stanza->first_element();
  if (q == nullptr || q->name != "query" || q->ns != ns_private)
    return error(r, "bad-request");
  // XEP-0049 §3: another user's data (or the server's) -> <forbidden/>.
  if (!docs::own(r))
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
  if (is_set)
    return set(self, r, {children.begin(), children.end()});
  return get(self, r, *children.front());
}

caf::behavior serve(private_actor* self, std::string tag, std::string domain,
                    std::shared_ptr<docs::store> db, limits bounds) {
  auto& st = self->state;
  st.tag = std::move(tag);
  st.domain = std::move(domain);
  st.db = std::move(db);
  st.bounds = bounds;
  docs::start(*st.db, st.tag, st.domain);
  return {
    [self](const hooks::iq_request& r) -> caf::result<reply_t> {
      if (r.to.domain() != self->state.domain)
        return reply_t::decline();
      return handle(self, r);
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
     "largest set accepted (its stored elements together, serialized), in "
     "bytes (default 65536)"});
  store_options.push_back(
    {"quota", option_type::integer, false,
     "bytes of private data kept per account (its stored elements "
     "together, serialized); a set beyond it is refused with "
     "<not-acceptable/> (default 1048576 = 1 MiB, 0 = no limit)"});
  return {
    name,
    std::move(summary),
    std::move(store_options),
    [](const toml::table&) {
      // XEP-0049 defines no disco feature.
      return manifest{{},
                      {std::string{"get "} + ns_private,
                       std::string{"set "} + ns_private},
                      {},
                      {},
                      {}};
    },
    [name, open](const spawn_context& ctx) {
      limits b{bounded_option(ctx, name, "max_bytes", default_max_bytes, 1),
               bounded_option(ctx, name, "quota", default_quota, 0)};
      auto db = open(ctx);
      return docs::spawn(ctx, *db, serve, std::string{name}, ctx.domain, db,
                         b);
    },
  };
}

} // namespace dja::plugins::private_xml

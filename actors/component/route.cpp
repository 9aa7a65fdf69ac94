// The stanzas of an authenticated component (XEP-0114 §3), both ways.
// In: every stanza names a `to`, and a `from` at the component's domain
// (a missing `from` means the domain itself, as Prosody allows; any other
// domain ends the stream with <invalid-from/>, RFC 6120 §4.9.3.9); it is
// moved from jabber:component:accept into jabber:client and routed like
// a federated server's (RFC 6120 §10.3: iq get/set to a domain or bare
// JID served here are answered by the vhost). Out: stanzas for the
// domain, written in the stream's namespace, bounded by the write
// buffer.

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "component/stream_state.hpp"
#include "hooks/catalogue.hpp"
#include "metrics/cells.hpp"
#include "s2s/wire.hpp"

namespace dja::component {

std::optional<msg::route> bounce_of(const xml::element_ptr& stanza,
                                    const jid& from, const jid& to) {
  if (stanza == nullptr || errors::is_error(*stanza))
    return std::nullopt;
  auto type = stanza->attr_or("type");
  bool answerable = stanza->name == "message"
                    || (stanza->name == "iq"
                        && (type == "get" || type == "set"));
  if (!answerable)
    return std::nullopt;
  return msg::route{errors::stanza_error(*stanza, "service-unavailable"), to,
                    from};
}

void stream_state::from_component(const xml::element_ptr& e) {
  // COMPAT: some components write xmlns='jabber:client' on stanzas.
  bool stanza_ns = e->ns == ns_accept || e->ns == ns::client;
  if (!stanza_ns
      || (e->name != "message" && e->name != "presence" && e->name != "iq")) {
    fail("unsupported-stanza-type"); // RFC 6120 §4.9.3.24
    return;
  }
  ++stanzas_in;
  metrics::stanza(metrics::stream_kind::component, metrics::direction::in,
                  e->name);
  xml::element_ptr stanza = s2s::retag(*e, ns_accept, ns::client);
  std::optional<jid> from;
  if (auto f = stanza->attr("from")) {
    from = jid::parse(*f);
    if (!from || from->domain() != domain) {
      spdlog::info("component {} ({}): stanza from '{}' refused", domain,
                   remote, *f);
      fail("invalid-from", "not at " + domain);
      return;
    }
  } else {
    from = jid::parse(domain);
    auto stamped = std::make_shared<xml::element>(*stanza);
    stamped->set_attr("from", domain);
    stanza = std::move(stamped);
  }
  auto to_attr = stanza->attr("to");
  if (to_attr == nullptr) {
    reply_error(*stanza, "bad-request", "a component's stanzas name a 'to'");
    return;
  }
  auto to = jid::parse(*to_attr);
  if (!to) {
    reply_error(*stanza, "jid-malformed");
    return;
  }
  route(stanza, *from, *to);
}

void stream_state::route(const xml::element_ptr& stanza, const jid& from,
                         const jid& to) {
  auto v = ctx->find_vhost(to.domain());
  if (v != nullptr && !v->is_service() && to.is_bare()) {
    auto type = stanza->attr_or("type");
    if (stanza->name == "iq" && (type == "get" || type == "set")) {
      // RFC 6120 §10.3 / §10.5.3.1: the server answers for its domains
      // and for bare JIDs, through the vhost's iq chain.
      if (stanza->elements().size() != 1 || stanza->attr("id") == nullptr) {
        reply_error(*stanza, "bad-request");
        return;
      }
      self
        ->request(v->actor, caf::infinite,
                  hooks::iq_request{stanza, from, to})
        .then([this](xml::element_ptr& reply) { to_component(reply); },
              [this, stanza](caf::error&) {
                reply_error(*stanza, "internal-server-error");
              });
      return;
    }
    if (to.local().empty() && stanza->name != "iq")
      return; // messages and presences to the server itself
  }
  self->send(ctx->router.shard_for(to), msg::route{stanza, from, to});
}

void stream_state::reply_error(const xml::element& e, const char* condition,
                               const std::string& text) {
  if (!errors::is_error(e))
    to_component(errors::stanza_error(e, condition, text));
}

void stream_state::to_component(const xml::element_ptr& e) {
  if (ph == phase::asking) {
    // The plugin took us before the vhost's answer reached us: held
    // until <handshake/> is written.
    early.push_back(e);
    return;
  }
  if (ph != phase::open)
    return;
  std::string out;
  // Serialized as in jabber:client: without an xmlns, so the stanza is in
  // the stream's default namespace, jabber:component:accept.
  xml::serialize(*e, out, ns::client);
  // Kept until the kernel took it: handed back when the component stops
  // reading (bounce_unwritten).
  pump->write(out, e);
  ++stanzas_out;
  metrics::stanza(metrics::stream_kind::component, metrics::direction::out,
                  e->name);
}

void stream_state::bounce_unwritten() {
  size_t n = 0;
  for (auto& e : pump->take_unwritten()) {
    auto from = jid::parse(e->attr_or("from"));
    auto to = jid::parse(e->attr_or("to"));
    if (!from || !to)
      continue;
    if (auto r = bounce_of(e, *from, *to)) {
      self->send(ctx->router.shard_for(r->to), std::move(*r));
      ++n;
    }
  }
  if (n > 0)
    spdlog::info("component {} ({}): {} stanzas not written bounced", domain,
                 remote, n);
}

} // namespace dja::component

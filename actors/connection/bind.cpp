// Resource binding (RFC 6120 §7) on a connection, and the legacy session
// iq (RFC 3921 §3) that old clients send before or after it.

#include <algorithm>
#include <random>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "common/messages.hpp"
#include "common/namespaces.hpp"
#include "connection/connection_state.hpp"
#include "hooks/catalogue.hpp"
#include "router/bind_error.hpp"
#include "session/session.hpp"

namespace dja {

namespace {

std::string generated_resource() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string r = "dja-";
  auto n = rng();
  for (int i = 0; i < 12; ++i) {
    r += digits[n & 31];
    n >>= 5;
  }
  return r;
}

} // namespace

void connection_state::on_bind_phase(const xml::element_ptr& e) {
  if (on_sm(*e)) // XEP-0198 §5: <resume/> instead of binding
    return;
  if (e->ns != ns::client || e->name != "iq") {
    // RFC 6120 §7.1: nothing but binding before a resource is bound.
    fail(e->ns == ns::client && e->name != "message" && e->name != "presence"
           ? "unsupported-stanza-type"
           : "not-authorized");
    return;
  }
  auto type = e->attr_or("type");
  auto payload = e->first_element();
  if (type == "set" && payload && payload->ns == ns::bind
      && payload->name == "bind") {
    bind_resource(*e, *payload);
  } else if (type == "set" && payload && payload->ns == ns::session) {
    write(errors::iq_result(*e));
  } else {
    fail("not-authorized");
  }
}

void connection_state::bind_resource(const xml::element& iq,
                                     const xml::element& bind) {
  std::string resource;
  auto elems = bind.elements();
  if (std::count_if(elems.begin(), elems.end(), [](const xml::element* c) {
        return c->name == "resource" && c->ns == ns::bind;
      }) > 1) {
    // RFC 6120 §7.6.1: at most one <resource/>; two are a malformed
    // request (§7.7.2.1 names <bad-request/> for one that is not valid).
    spdlog::info("bind from {}:{}: two <resource/> elements", remote,
                 remote_port);
    write(*errors::stanza_error(iq, "bad-request"));
    return;
  }
  if (auto r = bind.child("resource", ns::bind))
    resource = r->text();
  if (resource.empty()) {
    resource = generated_resource();
  } else {
    auto prepared = jid::prep_resource(resource);
    if (!prepared) {
      // RFC 6120 §7.7.2.1: a resource that cannot be processed.
      write(*errors::stanza_error(iq, "bad-request"));
      return;
    }
    resource = std::move(*prepared);
  }
  auto full = user.with_resource(resource);
  auto sess = spawn_session(self->system(), full, self, ctx, remote);
  pump->pause();
  auto id = iq.attr_or("id");
  self
    ->request(ctx->router.shard_for(full), std::chrono::seconds(60),
              msg::bind{full, sess})
    .then(
      [this, full, sess, id](bool replaced) {
        if (ph == phase::closed) {
          self->send(sess, closed_atom::value);
          return;
        }
        session = sess;
        user = full;
        ph = phase::bound;
        arm_ping_timer(ctx->limits.c2s_idle_timeout);
        xml::element reply{"iq", ns::client};
        reply.set_attr("type", "result").set_attr("id", id);
        reply.add_child(xml::element{"bind", ns::bind})
          .add_child(xml::element{"jid", ns::bind})
          .add_text(full.str());
        write(reply);
        spdlog::info("bound {}:{} as {}{}", remote, remote_port, full.str(),
                     replaced ? " (replaced an older session)" : "");
        self->send(vhost->actor, hooks::session_bound{full, sess, remote});
        resume();
      },
      [this, sess, iq = xml::element{iq}](caf::error& err) {
        self->send_exit(sess, caf::exit_reason::user_shutdown);
        if (ph == phase::closed)
          return;
        if (msg::is_bind_refused(err)) {
          // RFC 6120 §7.6.2.1: limits.max_resources reached.
          spdlog::warn("{}:{}: bind for {} refused: limits.max_resources "
                       "reached",
                       remote, remote_port, user.str());
          write(*errors::stanza_error(iq, "resource-constraint"));
          resume();
          return;
        }
        fail("internal-server-error", "binding failed");
      });
}

} // namespace dja

// extdisco: XEP-0215 External Service Discovery. Tells the vhost's own
// users which STUN and TURN servers to use for calls (XEP-0167 Jingle
// RTP with XEP-0176 ICE), with time-limited TURN credentials computed
// from a secret shared with the TURN server (plugins/extdisco/service.hpp).
// Answers <services/> (§3.1, all or one `type`) and <credentials/>
// (§3.3) gets from authenticated users of the vhost only: the
// credentials open a relay, so a remote entity gets <forbidden/>.

#include <algorithm>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/option_checks.hpp"
#include "plugins/extdisco/service.hpp"

namespace dja::plugins {

namespace {

using namespace extdisco;
using hooks::answer;
using reply_t = answer<xml::element_ptr>;

struct options {
  std::string domain;
  std::vector<service> services;
  std::string secret;
  int64_t ttl = 86400;
  bool user_in_username = true;
};

/// The services of a validated `services` option (bad entries were
/// rejected by the config check).
std::vector<service> services_of(const toml::table& o) {
  std::vector<service> res;
  if (auto a = o["services"].as_array())
    for (auto& v : *a)
      if (auto uri = v.value<std::string>()) {
        auto parsed = parse_service(*uri);
        if (auto s = std::get_if<service>(&parsed))
          res.push_back(*s);
      }
  return res;
}

std::string check_services(const toml::node& v) {
  auto a = v.as_array();
  if (a == nullptr || a->empty())
    return "an array of STUN/TURN URIs (at least one)";
  for (size_t i = 0; i < a->size(); ++i)
    if (auto uri = a->get(i)->value<std::string>()) {
      auto parsed = parse_service(*uri);
      if (auto err = std::get_if<std::string>(&parsed))
        return *err + " at item " + std::to_string(i);
    }
  return {};
}

std::string check_secret(const toml::node& v) {
  return v.value_or(std::string{}).empty() ? "a non-empty shared secret"
                                           : std::string{};
}

std::optional<credentials> credentials_for(const options& o,
                                           const service& s,
                                           const jid& user) {
  if (!s.restricted)
    return std::nullopt;
  return make_credentials(o.secret, std::time(nullptr), o.ttl,
                          o.user_in_username ? user.bare_str()
                                             : std::string{});
}

/// XEP-0215 §3.1: every service, or those of the requested type.
reply_t services(const hooks::iq_request& r, const options& o,
                 const xml::element& q) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  auto& out = reply->add_child(xml::element{"services", ns_extdisco});
  auto type = q.attr("type");
  if (type != nullptr)
    out.set_attr("type", *type);
  for (auto& s : o.services)
    if (type == nullptr || *type == s.type)
      out.add_child(service_element(s, credentials_for(o, s, r.from)));
  return reply_t::handled(reply);
}

/// XEP-0215 §3.3: credentials for one service, named by host and type
/// (and port, when given); none such: <item-not-found/>.
reply_t credentials_reply(const hooks::iq_request& r, const options& o,
                          const xml::element& q) {
  auto want = q.child("service", ns_extdisco);
  if (want == nullptr || want->attr("host") == nullptr)
    return reply_t::handled(errors::stanza_error(
      *r.stanza, "bad-request", "a <service/> with a host is required"));
  auto match = [&](const service& s) {
    return s.host == *want->attr("host")
           && want->attr_or("type", s.type) == s.type
           && want->attr_or("port", std::to_string(s.port))
                == std::to_string(s.port);
  };
  auto i = std::find_if(o.services.begin(), o.services.end(), match);
  if (i == o.services.end())
    return reply_t::handled(errors::stanza_error(*r.stanza,
                                                 "item-not-found"));
  auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
  reply->add_child(xml::element{"credentials", ns_extdisco})
    .add_child(service_element(*i, credentials_for(o, *i, r.from)));
  return reply_t::handled(reply);
}

caf::behavior extdisco_actor(caf::event_based_actor*,
                             std::shared_ptr<const options> o) {
  return {
    [o](const hooks::iq_request& r) -> reply_t {
      // An account's bare JID offers no external services.
      if (!r.to.local().empty())
        return reply_t::handled(errors::stanza_error(*r.stanza,
                                                     "service-unavailable"));
      if (r.from.local().empty() || r.from.domain() != o->domain) {
        spdlog::info("extdisco: {} is not a user of {}: forbidden",
                     r.from.str(), o->domain);
        return reply_t::handled(errors::stanza_error(*r.stanza,
                                                     "forbidden"));
      }
      auto q = r.stanza->first_element();
      if (q->name == "services")
        return services(r, *o, *q);
      if (q->name == "credentials")
        return credentials_reply(r, *o, *q);
      return reply_t::handled(errors::stanza_error(*r.stanza,
                                                   "bad-request"));
    },
  };
}

} // namespace

DJA_PLUGIN(extdisco) {
  return {
    "extdisco",
    "XEP-0215 External Service Discovery (STUN/TURN, TURN REST API "
    "credentials)",
    {{"services", option_type::string_list, true,
      "STUN/TURN servers as URIs: \"stun:HOST[:PORT]\", "
      "\"turn:HOST[:PORT]?transport=udp\", \"turns:...\" "
      "(&restricted=true|false; TURN is restricted by default)",
      check_services},
     {"secret", option_type::string, false,
      "the TURN server's shared secret (coturn: static-auth-secret); "
      "required with a restricted service",
      check_secret},
     {"ttl", option_type::integer, false,
      "seconds TURN credentials stay valid (default 86400)",
      check_range(60, 30 * 86400)},
     {"user_in_username", option_type::boolean, false,
      "append \":USER@DOMAIN\" to the credentials' username (default "
      "true; the TURN server logs who relays)"}},
    [](const toml::table& o) {
      manifest m{{}, {std::string{"get "} + ns_extdisco}, {ns_extdisco}, {}};
      if (o["secret"].value_or(std::string{}).empty())
        for (auto& s : services_of(o))
          if (s.restricted) {
            m.error = "secret: a shared secret (coturn's "
                      "static-auth-secret) for the restricted service "
                      + s.type + ":" + s.host + ", or restricted=false "
                      "in its URI";
            break;
          }
      return m;
    },
    [](const spawn_context& ctx) {
      auto o = std::make_shared<options>();
      o->domain = ctx.domain;
      o->services = services_of(ctx.options);
      o->secret = ctx.options["secret"].value_or(std::string{});
      o->ttl = ctx.options["ttl"].value_or(int64_t{86400});
      o->user_in_username = ctx.options["user_in_username"].value_or(true);
      return ctx.sys.spawn(extdisco_actor, std::move(o));
    },
  };
}

} // namespace dja::plugins

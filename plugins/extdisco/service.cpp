// XEP-0215 services and TURN REST API credentials
// (plugins/extdisco/service.hpp).

#include "plugins/extdisco/service.hpp"

#include <charconv>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "common/delay.hpp"

namespace dja::plugins::extdisco {

namespace {

constexpr const char* expected_uri
  = "a STUN or TURN URI, e.g. \"stun:stun.example.org:3478\" or "
    "\"turn:turn.example.org:3478?transport=udp\"";

std::string expected(std::string why) {
  return std::string{expected_uri} + " (" + why + ")";
}

/// `restricted=` and `transport=` of the query part into `s`; what was
/// expected, or "".
std::string parse_query(std::string_view q, service& s) {
  while (!q.empty()) {
    auto amp = q.find('&');
    auto kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{}
                                      : q.substr(amp + 1);
    auto eq = kv.find('=');
    auto key = kv.substr(0, eq);
    auto val = eq == std::string_view::npos ? std::string_view{}
                                            : kv.substr(eq + 1);
    if (key == "transport" && (val == "udp" || val == "tcp"))
      s.transport = std::string{val};
    else if (key == "transport")
      return expected("transport is udp or tcp");
    else if (key == "restricted" && (val == "true" || val == "1"))
      s.restricted = true;
    else if (key == "restricted" && (val == "false" || val == "0"))
      s.restricted = false;
    else if (key == "restricted")
      return expected("restricted is true or false");
    else
      return expected("the query keys are transport and restricted");
  }
  return {};
}

} // namespace

std::variant<service, std::string> parse_service(std::string_view uri) {
  service s;
  auto colon = uri.find(':');
  if (colon == std::string_view::npos)
    return expected("no scheme");
  s.type = std::string{uri.substr(0, colon)};
  bool tls = s.type == "stuns" || s.type == "turns";
  if (s.type != "stun" && s.type != "turn" && !tls)
    return expected("the scheme is stun, stuns, turn or turns");
  // RFC 7064 §3.2 / RFC 7065 §3.2: the defaults of the scheme.
  s.port = tls ? 5349 : 3478;
  s.transport = tls ? "tcp" : "udp";
  s.restricted = s.type == "turn" || s.type == "turns";
  auto rest = uri.substr(colon + 1);
  auto qm = rest.find('?');
  auto query = qm == std::string_view::npos ? std::string_view{}
                                            : rest.substr(qm + 1);
  rest = rest.substr(0, qm);
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') { // an IPv6 literal
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return expected("an IPv6 address ends with ]");
    s.host = std::string{rest.substr(1, close - 1)};
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return expected("a port follows the host after ':'");
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    auto pc = rest.find(':');
    s.host = std::string{rest.substr(0, pc)};
    port = pc == std::string_view::npos ? std::string_view{}
                                        : rest.substr(pc + 1);
    if (pc != std::string_view::npos && port.empty())
      return expected("a port after ':'");
  }
  if (s.host.empty() || s.host.find_first_of("/@ ") != std::string::npos)
    return expected("a host name or address");
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(),
                                     p);
    if (ec != std::errc{} || end != port.data() + port.size() || p == 0
        || p > 65535)
      return expected("the port is an integer in 1..65535, got \""
                      + std::string{port} + "\"");
    s.port = static_cast<uint16_t>(p);
  }
  if (auto err = parse_query(query, s); !err.empty())
    return err;
  return s;
}

credentials make_credentials(std::string_view secret, std::time_t now,
                             int64_t ttl, std::string_view user) {
  credentials c;
  c.expires = now + static_cast<std::time_t>(ttl);
  c.username = std::to_string(static_cast<int64_t>(c.expires));
  if (!user.empty()) {
    c.username += ':';
    c.username += user;
  }
  c.password = base64::encode(
    crypto::hmac(crypto::hash_fn::sha1, secret, c.username));
  return c;
}

xml::element service_element(const service& s,
                             const std::optional<credentials>& c) {
  xml::element e{"service", ns_extdisco};
  e.set_attr("type", s.type);
  e.set_attr("host", s.host);
  e.set_attr("port", std::to_string(s.port));
  e.set_attr("transport", s.transport);
  if (s.restricted)
    e.set_attr("restricted", "1");
  if (c) {
    e.set_attr("username", c->username);
    e.set_attr("password", c->password);
    e.set_attr("expires", delay::utc_stamp(c->expires));
  }
  return e;
}

} // namespace dja::plugins::extdisco

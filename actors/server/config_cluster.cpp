// Validation of the `[cluster]` table (docs/cluster.md):
//
//   [cluster]
//   node     = "n1"                 # unique name: letters, digits, . _ -
//   listen   = "127.0.0.1:7400"     # where the other nodes connect (TLS)
//   peers    = ["127.0.0.1:7401"]   # the other nodes, dialled with backoff
//   tls_cert = "n1.crt"             # signed by tls_ca
//   tls_key  = "n1.key"
//   tls_ca   = "ca.crt"             # peers must present a cert by this CA
//   link_timeout_ms    = 4000       # optional
//   forward_timeout_ms = 5000       # optional

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "server/config_detail.hpp"

namespace dja::config::detail {

namespace {

/// "host:port" or "[v6]:port" with an IP address and a port 1..65535.
std::optional<std::pair<std::string, uint16_t>>
parse_address(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find("]:");
    if (close == std::string::npos)
      return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon)
      return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1
      && inet_pton(AF_INET6, host.c_str(), buf) != 1)
    return std::nullopt;
  if (port.empty() || port.size() > 5
      || !std::all_of(port.begin(), port.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto n = std::stoi(port);
  if (n < 1 || n > 65535)
    return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(n));
}

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 64
         && std::all_of(s.begin(), s.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '.' || c == '_'
                     || c == '-';
            });
}

constexpr const char* address_text
  = "an address \"IP:port\" (IPv6 as \"[::1]:port\", port 1..65535)";

} // namespace

void check_cluster(const toml::node& n, const std::string& file,
                   cluster_cfg& out, std::vector<config_error>& errors) {
  auto fail = [&](int64_t line, std::string key, std::string expected) {
    errors.push_back(
      config_error{file, line, std::move(key), std::move(expected)});
  };
  auto t = n.as_table();
  if (t == nullptr) {
    fail(line_of(n), "cluster", "a table ([cluster])" + got(n));
    return;
  }
  out.enabled = true;
  out.where = where(file, line_of(*t));
  for (auto&& [k, v] : *t) {
    auto key = join_key("cluster", k.str());
    auto str = v.as_string();
    if (k == "node") {
      if (str && valid_name(str->get()))
        out.node = str->get();
      else
        fail(line_of(v), key, "a node name of 1..64 letters, digits, '.', "
                              "'_' or '-'" + got(v));
    } else if (k == "listen") {
      std::optional<std::pair<std::string, uint16_t>> a;
      if (str)
        a = parse_address(str->get());
      if (a) {
        out.listen_host = a->first;
        out.listen_port = a->second;
      } else {
        fail(line_of(v), key, address_text + got(v));
      }
    } else if (k == "peers") {
      auto arr = v.as_array();
      if (arr == nullptr) {
        fail(line_of(v), key, "an array of addresses" + got(v));
        continue;
      }
      for (size_t i = 0; i < arr->size(); ++i) {
        auto& elem = *arr->get(i);
        auto pkey = key + "[" + std::to_string(i) + "]";
        std::optional<std::pair<std::string, uint16_t>> a;
        if (auto s = elem.as_string())
          a = parse_address(s->get());
        if (!a)
          fail(line_of(elem), pkey, address_text + got(elem));
        else if (std::find(out.peers.begin(), out.peers.end(), *a)
                 != out.peers.end())
          fail(line_of(elem), pkey, "an address not listed twice");
        else
          out.peers.push_back(*a);
      }
    } else if (k == "tls_cert" || k == "tls_key" || k == "tls_ca") {
      if (str == nullptr || ::access(str->get().c_str(), R_OK) != 0) {
        fail(line_of(v), key,
             "a readable PEM file"
               + (str ? " (cannot read \"" + str->get() + "\")" : got(v)));
        continue;
      }
      (k == "tls_cert" ? out.tls_cert
                       : k == "tls_key" ? out.tls_key : out.tls_ca)
        = str->get();
    } else if (k == "link_timeout_ms" || k == "forward_timeout_ms") {
      auto err = int_error(v, 500, 600000, " (milliseconds)");
      if (!err.empty()) {
        fail(line_of(v), key, err);
        continue;
      }
      std::chrono::milliseconds ms{v.as_integer()->get()};
      (k == "link_timeout_ms" ? out.link_timeout : out.forward_timeout) = ms;
    } else {
      fail(line_of(k), key, "one of the keys node, listen, peers, tls_cert, "
                            "tls_key, tls_ca, link_timeout_ms, "
                            "forward_timeout_ms");
    }
  }
  // Node links are always mutually authenticated: no TLS, no cluster.
  for (auto req : {"node", "listen", "tls_cert", "tls_key", "tls_ca"})
    if (!t->contains(req))
      fail(line_of(*t), std::string{"cluster."} + req,
           std::string{req == std::string{"node"} ? "a unique node name"
                       : req == std::string{"listen"}
                         ? "the address other nodes connect to"
                         : "a PEM file (node links use mutual TLS)"}
             + " (required)");
  auto self = std::make_pair(out.listen_host, out.listen_port);
  if (out.listen_port != 0
      && std::find(out.peers.begin(), out.peers.end(), self)
           != out.peers.end())
    fail(line_of(*t), "cluster.peers",
         "the other nodes' addresses (this node's own listen address is "
         "listed)");
}

} // namespace dja::config::detail

// toml++ 3.x's parser asserts (a debug build aborts; clang -O2 assumes it,
// undefined behaviour) that a table header starts with a key character,
// and "[%server]" breaks that; the check right after the assertion reports
// the proper error. Only this file parses TOML, so the assertion is off
// here (tests/fuzz found it: corpus/config/crash-table-header).
#define TOML_ASSERT(expr) static_cast<void>(0)
#include "server/config.hpp"
#include "server/config_detail.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "common/jid.hpp"
#include "control/control.hpp"

namespace dja::config {

namespace {

using detail::got;
using detail::join_key;
using detail::line_of;

const std::vector<std::string_view> log_levels = {"trace", "debug", "info",
                                                  "warn", "error"};

/// Listener kinds the server knows (more to come: "c2s_tls", "s2s").
const std::vector<std::string_view> listen_kinds = {"c2s", "c2s_tls", "s2s",
                                                    "component", "http"};
const std::vector<std::string_view> s2s_tls_modes = {"required", "optional"};
const std::vector<std::string_view> starttls_modes = {"required", "optional",
                                                      "off"};
const std::vector<std::string_view> plus_modes = {"tls1.2", "always", "off"};

std::string one_of(const std::vector<std::string_view>& xs) {
  std::string res = "one of ";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      res += ", ";
    res += xs[i];
  }
  return res;
}

bool contains(const std::vector<std::string_view>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// The address in canonical text form, or nothing if it is no IP address.
std::optional<std::string> canonical_ip(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  for (auto af : {AF_INET, AF_INET6})
    if (inet_pton(af, s.c_str(), buf) == 1
        && inet_ntop(af, buf, out, sizeof(out)) != nullptr)
      return std::string{out};
  return std::nullopt;
}

class checker {
public:
  checker(const std::string& file, std::vector<config_error>& errors)
    : file_(file), errors_(errors) {
    // nop
  }

  void fail(int64_t line, std::string key, std::string expected) {
    errors_.push_back(
      config_error{file_, line, std::move(key), std::move(expected)});
  }

  /// The string in `v`, or an error "KEY: a string..." and nothing.
  const std::string* str(const toml::node& v, const std::string& key,
                         const char* what = "a string") {
    if (auto s = v.as_string())
      return &s->get();
    fail(line_of(v), key, what + got(v));
    return nullptr;
  }

  /// The integer in `v` if it is in lo..hi, else an error and nothing.
  std::optional<int64_t> int_in(const toml::node& v, const std::string& key,
                                int64_t lo, int64_t hi,
                                std::string_view unit = "") {
    auto err = detail::int_error(v, lo, hi, unit);
    if (err.empty())
      return v.as_integer()->get();
    fail(line_of(v), key, std::move(err));
    return std::nullopt;
  }

  void server(const toml::node& n, server_cfg& cfg);
  void plugin_dirs(const toml::node& v, const std::string& key,
                   server_cfg& cfg);
  void listeners(const toml::node& n, server_cfg& cfg);
  void listener(const toml::table& t, const std::string& key, listen_cfg& l);
  void vhosts(const toml::node& n, server_cfg& cfg);
  void vhost(const toml::table& t, const std::string& key, vhost_cfg& vh,
             const server_cfg& cfg);
  void root(const toml::table& t, server_cfg& cfg);
  bool server_s2s(const toml::key& k, const toml::node& v,
                  const std::string& key, server_cfg& cfg);
  void s2s_routes(const toml::node& n, server_cfg& cfg);

private:
  const std::string& file_;
  std::vector<config_error>& errors_;
};

void checker::server(const toml::node& n, server_cfg& cfg) {
  auto t = n.as_table();
  if (t == nullptr) {
    fail(line_of(n), "server", "a table ([server])" + got(n));
    return;
  }
  for (auto&& [k, v] : *t) {
    auto key = join_key("server", k.str());
    if (k == "log_level") {
      if (auto s = v.as_string(); s && contains(log_levels, s->get()))
        cfg.log_level = s->get();
      else
        fail(line_of(v), key, one_of(log_levels) + got(v));
    } else if (k == "data_dir") {
      if (auto s = str(v, key, "a non-empty string (a directory)")) {
        if (s->empty())
          fail(line_of(v), key, "a non-empty string (a directory)");
        else if (auto err = detail::dir_error(*s); !err.empty())
          fail(line_of(v), key, err);
        else
          cfg.data_dir = *s;
      }
    } else if (k == "tls_ciphers") {
      if (auto s = str(v, key, "an OpenSSL cipher list string"))
        cfg.tls_ciphers = *s;
    } else if (k == "tls_ciphersuites") {
      if (auto s = str(v, key, "an OpenSSL TLS 1.3 ciphersuites string"))
        cfg.tls_ciphersuites = *s;
    } else if (k == "auth_fail_limit") {
      if (auto i = int_in(v, key, 1, 1000000,
                          " (failures per address and per account)"))
        cfg.auth_fail_limit = static_cast<int>(*i);
    } else if (k == "auth_fail_window") {
      if (auto i = int_in(v, key, 1, 86400, " (seconds)"))
        cfg.auth_fail_window = std::chrono::seconds{*i};
    } else if (k == "auth_delay_max") {
      if (auto i = int_in(v, key, 1, 3600, " (seconds)"))
        cfg.auth_delay_max = std::chrono::seconds{*i};
    } else if (k == "plugin_dirs") {
      plugin_dirs(v, key, cfg);
    } else if (k == "log_file") {
      if (auto s = str(v, key, "a string (a file path)"))
        cfg.log_file = *s;
    } else if (k == "max_stanza_size") {
      if (auto i = int_in(v, key, 1024, 67108864, " (bytes)"))
        cfg.max_stanza_size = static_cast<size_t>(*i);
    } else if (k == "negotiation_timeout") {
      if (auto i = int_in(v, key, 1, 3600, " (seconds)"))
        cfg.negotiation_timeout = std::chrono::seconds{*i};
    } else if (k == "shutdown_timeout") {
      if (auto i = int_in(v, key, 0, 3600, " (seconds)"))
        cfg.shutdown_timeout = std::chrono::seconds{*i};
    } else if (k == "control_socket") {
      // Checked for its size here; whether it can be created, at start.
      if (auto s = str(v, key, "a string (a Unix socket path; \"\" for "
                               "none)")) {
        if (s->size() > control::max_socket_path)
          fail(line_of(v), key,
               "a path of at most "
                 + std::to_string(control::max_socket_path)
                 + " bytes (the bound of a Unix socket address)");
        cfg.control_socket = *s;
        cfg.control_socket_line = line_of(v);
      }
    } else if (k == "metrics") {
      if (auto b = v.as_boolean())
        cfg.metrics = b->get();
      else
        fail(line_of(v), key, "true or false" + got(v));
    } else if (server_s2s(k, v, key, cfg)) {
      // a federation key
    } else {
      fail(line_of(k), key,
           "one of the keys log_level, log_file, data_dir, max_stanza_size, "
           "negotiation_timeout, shutdown_timeout, tls_ciphers, tls_ciphersuites, "
           "auth_fail_limit, auth_fail_window, auth_delay_max, plugin_dirs, "
           "control_socket, metrics, "
           "s2s_tls, "
           "s2s_ca_file, "
           "s2s_dialback_secret, s2s_require_certificate, s2s_idle_timeout, "
           "s2s_connect_timeout, s2s_handshake_timeout");
    }
  }
}

/// `plugin_dirs`: directories that exist, relative ones taken from the
/// configuration file's directory (like a relative `library`).
void checker::plugin_dirs(const toml::node& v, const std::string& key,
                          server_cfg& cfg) {
  auto arr = v.as_array();
  if (arr == nullptr) {
    fail(line_of(v), key, "an array of directories" + got(v));
    return;
  }
  auto base = std::filesystem::path{file_}.parent_path();
  for (size_t i = 0; i < arr->size(); ++i) {
    auto& d = *arr->get(i);
    auto dkey = key + "[" + std::to_string(i) + "]";
    if (auto s = str(d, dkey, "a directory")) {
      std::filesystem::path p{*s};
      if (p.is_relative())
        p = base / p;
      std::error_code ec;
      if (std::filesystem::is_directory(p, ec))
        cfg.plugin_dirs.push_back(p.string());
      else
        fail(line_of(d), dkey, "an existing directory" + got(d));
    }
  }
}

/// The [server] keys of federation; false when `k` is none of them.
bool checker::server_s2s(const toml::key& k, const toml::node& v,
                         const std::string& key, server_cfg& cfg) {
  if (k == "s2s_tls") {
    if (auto s = v.as_string(); s && contains(s2s_tls_modes, s->get()))
      cfg.s2s_tls = s->get();
    else
      fail(line_of(v), key, one_of(s2s_tls_modes) + got(v));
  } else if (k == "s2s_ca_file") {
    if (auto s = str(v, key, "a file path (PEM)")) {
      if (::access(s->c_str(), R_OK) != 0)
        fail(line_of(v), key, "a readable PEM file (cannot read \"" + *s
                                + "\")");
      else
        cfg.s2s_ca_file = *s;
    }
  } else if (k == "s2s_dialback_secret") {
    if (auto s = str(v, key, "a string of at least 16 characters")) {
      if (s->size() < 16)
        fail(line_of(v), key, "a string of at least 16 characters");
      else
        cfg.s2s_dialback_secret = *s;
    }
  } else if (k == "s2s_require_certificate") {
    auto arr = v.as_array();
    if (arr == nullptr) {
      fail(line_of(v), key, "an array of domain names" + got(v));
      return true;
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      auto& d = *arr->get(i);
      auto dkey = key + "[" + std::to_string(i) + "]";
      if (auto s = str(d, dkey, "a domain name")) {
        if (auto j = jid::make("", *s))
          cfg.s2s_require_certificate.push_back(j->domain());
        else
          fail(line_of(d), dkey, "a valid domain name" + got(d));
      }
    }
  } else if (k == "s2s_idle_timeout") {
    if (auto i = int_in(v, key, 1, 86400, " (seconds)"))
      cfg.s2s_idle_timeout = std::chrono::seconds{*i};
  } else if (k == "s2s_connect_timeout") {
    if (auto i = int_in(v, key, 1, 600, " (seconds)"))
      cfg.s2s_connect_timeout = std::chrono::seconds{*i};
  } else if (k == "s2s_handshake_timeout") {
    if (auto i = int_in(v, key, 1, 600, " (seconds)"))
      cfg.s2s_handshake_timeout = std::chrono::seconds{*i};
  } else {
    return false;
  }
  return true;
}

void checker::s2s_routes(const toml::node& n, server_cfg& cfg) {
  auto arr = n.as_array();
  if (arr == nullptr) {
    fail(line_of(n), "s2s_route", "an array of tables ([[s2s_route]])"
                                    + got(n));
    return;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    auto& elem = *arr->get(i);
    auto key = "s2s_route[" + std::to_string(i) + "]";
    auto t = elem.as_table();
    if (t == nullptr) {
      fail(line_of(elem), key, "a table ([[s2s_route]])" + got(elem));
      continue;
    }
    s2s_route_cfg r;
    r.where = detail::where(file_, line_of(*t));
    for (auto&& [k, v] : *t) {
      auto sub = join_key(key, k.str());
      if (k == "domain") {
        if (auto s = str(v, sub, "a domain name")) {
          if (auto j = jid::make("", *s))
            r.domain = j->domain();
          else
            fail(line_of(v), sub, "a valid domain name" + got(v));
        }
      } else if (k == "host") {
        if (auto s = str(v, sub, "an address or host name")) {
          if (s->empty())
            fail(line_of(v), sub, "an address or host name (not empty)");
          else
            r.host = *s;
        }
      } else if (k == "port") {
        if (auto p = int_in(v, sub, 1, 65535))
          r.port = static_cast<uint16_t>(*p);
      } else {
        fail(line_of(k), sub, "one of the keys domain, host, port");
      }
    }
    if (!t->contains("domain"))
      fail(line_of(*t), key + ".domain", "a domain name (required)");
    if (!t->contains("host"))
      fail(line_of(*t), key + ".host", "an address or host name (required)");
    for (auto& other : cfg.s2s_routes)
      if (!r.domain.empty() && other.domain == r.domain)
        fail(line_of(*t), key + ".domain",
             "a domain no other [[s2s_route]] names (also at " + other.where
               + ")");
    cfg.s2s_routes.push_back(std::move(r));
  }
}

void checker::listener(const toml::table& t, const std::string& key,
                       listen_cfg& l) {
  for (auto&& [k, v] : t) {
    auto sub = join_key(key, k.str());
    if (k == "kind") {
      if (auto s = v.as_string(); s && contains(listen_kinds, s->get()))
        l.kind = s->get();
      else
        fail(line_of(v), sub, one_of(listen_kinds) + got(v));
    } else if (k == "address") {
      if (auto s = str(v, sub, "an IPv4 or IPv6 address")) {
        if (canonical_ip(*s))
          l.address = *s;
        else
          fail(line_of(v), sub, "an IPv4 or IPv6 address" + got(v));
      }
    } else if (k == "port") {
      if (auto i = int_in(v, sub, 0, 65535, " (0 = ephemeral)"))
        l.port = static_cast<uint16_t>(*i);
    } else if (k == "starttls") {
      if (auto s = v.as_string(); s && contains(starttls_modes, s->get()))
        l.starttls = s->get();
      else
        fail(line_of(v), sub, one_of(starttls_modes) + got(v));
    } else if (k == "sasl_channel_binding") {
      if (auto b = v.as_boolean())
        l.sasl_channel_binding = b->get() ? "always" : "off";
      else if (auto s = v.as_string(); s && contains(plus_modes, s->get()))
        l.sasl_channel_binding = s->get();
      else
        fail(line_of(v), sub, "a boolean or " + one_of(plus_modes) + got(v));
    } else if (k == "allow_plain_without_tls") {
      if (auto b = v.as_boolean())
        l.allow_plain_without_tls = b->get();
      else
        fail(line_of(v), sub, "a boolean" + got(v));
    } else if (k == "stream_management") {
      if (auto b = v.as_boolean())
        l.stream_management = b->get();
      else
        fail(line_of(v), sub, "a boolean" + got(v));
    } else if (k == "tls") {
      if (auto b = v.as_boolean())
        l.tls = b->get();
      else
        fail(line_of(v), sub, "a boolean" + got(v));
    } else if (k == "websocket_path") {
      if (auto s = str(v, sub, "a path beginning with /")) {
        if (s->empty() || s->front() != '/'
            || s->find_first_of("?# \t\r\n") != std::string::npos)
          fail(line_of(v), sub, "a path beginning with /" + got(v));
        else
          l.websocket_path = *s;
      }
    } else if (k == "websocket_url") {
      if (auto s = str(v, sub, "a ws:// or wss:// URL")) {
        if (s->rfind("ws://", 0) != 0 && s->rfind("wss://", 0) != 0)
          fail(line_of(v), sub, "a ws:// or wss:// URL" + got(v));
        else
          l.websocket_url = *s;
      }
    } else if (k == "allowed_origins") {
      auto arr = v.as_array();
      if (arr == nullptr) {
        fail(line_of(v), sub,
             "an array of origins (\"https://host[:port]\", or \"*\")"
               + got(v));
        continue;
      }
      for (size_t i = 0; i < arr->size(); ++i) {
        auto& d = *arr->get(i);
        auto dkey = sub + "[" + std::to_string(i) + "]";
        if (auto o = str(d, dkey, "an origin (\"https://host[:port]\", or "
                                  "\"*\")")) {
          if (*o == "*" || o->rfind("http://", 0) == 0
              || o->rfind("https://", 0) == 0)
            l.allowed_origins.push_back(*o);
          else
            fail(line_of(d), dkey,
                 "an origin (\"https://host[:port]\", or \"*\")" + got(d));
        }
      }
    } else if (k == "max_request_body") {
      if (auto i = int_in(v, sub, 0, int64_t{1} << 40, " bytes"))
        l.max_request_body = *i;
    } else {
      fail(line_of(k), sub, "one of the keys kind, address, port, starttls, "
                            "allow_plain_without_tls, sasl_channel_binding, "
                            "stream_management, and for kind = \"http\": "
                            "tls, websocket_path, websocket_url, "
                            "allowed_origins, max_request_body");
    }
  }
  if (!t.contains("kind"))
    fail(line_of(t), key + ".kind", "a listener kind (required), "
                                      + one_of(listen_kinds));
  if (!t.contains("address"))
    fail(line_of(t), key + ".address",
         "an IPv4 or IPv6 address (required)");
  if (!t.contains("port"))
    fail(line_of(t), key + ".port", "a port number 0..65535 (required)");
}

void checker::listeners(const toml::node& n, server_cfg& cfg) {
  auto arr = n.as_array();
  if (arr == nullptr) {
    fail(line_of(n), "listen", "an array of tables ([[listen]])" + got(n));
    return;
  }
  // (canonical address, port) -> (index, line) of the first user.
  std::map<std::pair<std::string, int64_t>, std::pair<size_t, int64_t>> seen;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto& elem = *arr->get(i);
    auto key = "listen[" + std::to_string(i) + "]";
    auto t = elem.as_table();
    if (t == nullptr) {
      fail(line_of(elem), key, "a table ([[listen]])" + got(elem));
      continue;
    }
    listen_cfg l;
    l.where = detail::where(file_, line_of(*t));
    l.line = line_of(*t);
    listener(*t, key, l);
    auto addr = canonical_ip(l.address);
    auto port = t->get("port");
    if (addr && port && port->is_integer()) {
      auto id = std::make_pair(*addr, port->as_integer()->get());
      auto [it, added] = seen.emplace(id, std::make_pair(i, line_of(*t)));
      if (!added)
        fail(line_of(*t), key,
             "an address and port no other listener uses (" + l.address
               + " port " + std::to_string(l.port) + " is also listen["
               + std::to_string(it->second.first) + "] at "
               + detail::where(file_, it->second.second) + ")");
    }
    cfg.listeners.push_back(std::move(l));
  }
}

void checker::vhost(const toml::table& t, const std::string& key,
                    vhost_cfg& vh, const server_cfg& cfg) {
  for (auto&& [k, v] : t) {
    auto sub = join_key(key, k.str());
    if (k == "domain") {
      if (auto s = str(v, sub, "a domain name")) {
        if (auto j = jid::make("", *s))
          vh.domain = j->domain();
        else
          fail(line_of(v), sub, "a valid domain name or IP literal" + got(v));
      }
    } else if (k == "plugin") {
      auto arr = v.as_array();
      if (arr == nullptr) {
        fail(line_of(v), sub, "an array of tables ([[vhost.plugin]])"
                                + got(v));
        continue;
      }
      for (size_t i = 0; i < arr->size(); ++i) {
        auto& elem = *arr->get(i);
        auto pkey = sub + "[" + std::to_string(i) + "]";
        if (auto pt = elem.as_table()) {
          plugin_cfg pc;
          detail::check_plugin(*pt, file_, pkey, pc, errors_,
                               cfg.plugin_dirs);
          vh.plugins.push_back(std::move(pc));
        } else {
          fail(line_of(elem), pkey, "a table ([[vhost.plugin]])" + got(elem));
        }
      }
    } else if (k == "default_plugins" || k == "correct_forged_from") {
      if (auto b = v.as_boolean())
        (k == "default_plugins" ? vh.default_plugins
                                : vh.correct_forged_from) = b->get();
      else
        fail(line_of(v), sub, "a boolean" + got(v));
    } else if (k == "tls_cert" || k == "tls_key") {
      if (auto s = str(v, sub, "a file path (PEM)")) {
        if (::access(s->c_str(), R_OK) != 0)
          fail(line_of(v), sub, "a readable PEM file (cannot read \"" + *s
                                  + "\")");
        else
          (k == "tls_cert" ? vh.tls_cert : vh.tls_key) = *s;
      }
    } else {
      fail(line_of(k), sub, "one of the keys domain, plugin, tls_cert, "
                            "tls_key, default_plugins, correct_forged_from");
    }
  }
  if (!t.contains("domain"))
    fail(line_of(t), key + ".domain", "a domain name (required)");
  if (t.contains("tls_cert") != t.contains("tls_key")) {
    fail(line_of(t), key + (t.contains("tls_cert") ? ".tls_key" : ".tls_cert"),
         "tls_cert and tls_key together (one of them is missing)");
  } else if (!vh.tls_cert.empty() && !vh.tls_key.empty()) {
    // What the start would refuse: a PEM that does not parse, a key of
    // another certificate.
    bool key_at_fault = false;
    auto err = detail::pem_pair_error(vh.tls_cert, vh.tls_key, key_at_fault);
    if (!err.empty()) {
      auto k = key_at_fault ? "tls_key" : "tls_cert";
      fail(line_of(*t.get(k)), key + "." + k, err);
    }
  }
}

void checker::vhosts(const toml::node& n, server_cfg& cfg) {
  auto arr = n.as_array();
  if (arr == nullptr) {
    fail(line_of(n), "vhost", "an array of tables ([[vhost]])" + got(n));
    return;
  }
  // prepared domain -> (index, line) of the first vhost using it.
  std::map<std::string, std::pair<size_t, int64_t>> seen;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto& elem = *arr->get(i);
    auto key = "vhost[" + std::to_string(i) + "]";
    auto t = elem.as_table();
    if (t == nullptr) {
      fail(line_of(elem), key, "a table ([[vhost]])" + got(elem));
      continue;
    }
    vhost_cfg vh;
    vh.where = detail::where(file_, line_of(*t));
    vhost(*t, key, vh, cfg);
    if (!vh.domain.empty()) {
      auto line = line_of(*t->get("domain"));
      auto [it, added] = seen.emplace(vh.domain, std::make_pair(i, line));
      if (!added)
        fail(line, key + ".domain",
             "a domain no other vhost uses (\"" + vh.domain
               + "\" is also vhost[" + std::to_string(it->second.first)
               + "].domain at " + detail::where(file_, it->second.second)
               + ")");
    }
    cfg.vhosts.push_back(std::move(vh));
  }
}

void checker::root(const toml::table& t, server_cfg& cfg) {
  // [server] first: its plugin_dirs are needed by the [[vhost.plugin]]s.
  if (auto v = t.get("server"))
    server(*v, cfg);
  for (auto&& [k, v] : t) {
    if (k == "server")
      continue;
    else if (k == "listen")
      listeners(v, cfg);
    else if (k == "vhost")
      vhosts(v, cfg);
    else if (k == "s2s_route")
      s2s_routes(v, cfg);
    else if (k == "cluster")
      detail::check_cluster(v, file_, cfg.cluster, errors_);
    else if (k == "limits")
      detail::check_limits(v, file_, cfg.limits, errors_);
    else
      fail(line_of(k), join_key("", k.str()),
           "one of the top-level keys server, listen, vhost, s2s_route, "
           "cluster, limits");
  }
  // [server] max_stanza_size is the older name of limits.c2s_stanza_size.
  if (!t.at_path("limits.c2s_stanza_size"))
    cfg.limits.c2s_stanza_size = cfg.max_stanza_size;
  // A stream gets its full limit only once authenticated, never less.
  cfg.limits.preauth_stanza_size = std::min(cfg.limits.preauth_stanza_size,
                                            cfg.limits.c2s_stanza_size);
  auto require = [&](const char* key, const char* what) {
    auto n = t.get(key);
    if (n == nullptr)
      fail(line_of(t), key, what);
    else if (auto arr = n->as_array(); arr && arr->empty())
      fail(line_of(*n), key, what);
  };
  require("listen", "at least one [[listen]] block");
  bool any_cert = false;
  for (auto& v : cfg.vhosts)
    any_cert = any_cert || !v.tls_cert.empty();
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    auto& l = cfg.listeners[i];
    bool needs_tls = l.kind == "c2s_tls" || (l.kind == "http" && l.tls)
                     || (l.kind == "s2s" ? cfg.s2s_tls == "required"
                                         : l.starttls == "required");
    if (needs_tls && !any_cert)
      errors_.push_back(config_error{
        file_, l.line, "listen[" + std::to_string(i) + "]",
        "a [[vhost]] with tls_cert and tls_key (this listener requires "
        "TLS)"});
  }
  require("vhost", "at least one [[vhost]] block");
}

config_error syntax_error(const std::string& file,
                          const toml::parse_error& e) {
  return config_error{file, line_of(e), "",
                      "valid TOML (" + std::string{e.description()} + ")"};
}

std::optional<toml::table> parse(std::string_view text,
                                 const std::string& file,
                                 std::vector<config_error>& errors) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, std::string_view{file});
  } catch (const toml::parse_error& e) {
    errors.push_back(syntax_error(file, e));
    return std::nullopt;
  }
#else
  auto res = toml::parse(text, std::string_view{file});
  if (!res) {
    errors.push_back(syntax_error(file, res.error()));
    return std::nullopt;
  }
  return std::move(res).table();
#endif
}

} // namespace

std::string config_error::to_string() const {
  auto res = detail::where(file, line) + ": ";
  if (!key.empty())
    res += key + ": ";
  return res + expected;
}

std::string control_socket_path(const server_cfg& cfg) {
  if (cfg.control_socket)
    return *cfg.control_socket;
  return (std::filesystem::path{cfg.data_dir} / "control.sock").string();
}

load_result load_text(std::string_view text, const std::string& path) {
  load_result res;
  res.cfg.file = path;
  auto root = parse(text, path, res.errors);
  if (!root)
    return res;
  checker{path, res.errors}.root(*root, res.cfg);
  std::stable_sort(res.errors.begin(), res.errors.end(),
                   [](const config_error& a, const config_error& b) {
                     return a.line < b.line;
                   });
  return res;
}

load_result load_file(const std::string& path) {
  auto fail = [&](std::string what) {
    load_result res;
    res.cfg.file = path;
    res.errors.push_back(config_error{path, 0, "", std::move(what)});
    return res;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail("a configuration file (this is a directory)");
  std::ifstream in{path, std::ios::in | std::ios::binary};
  if (!in)
    return fail("a readable configuration file ("
                + std::string{std::strerror(errno)} + ")");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    return fail("a readable configuration file (read error)");
  return load_text(buf.str(), path);
}

} // namespace dja::config

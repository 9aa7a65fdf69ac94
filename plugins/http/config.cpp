// The options of the `http` plugin (plugins/http/config.hpp).

#include "plugins/http/config.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/common/option_checks.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins::http {

namespace {

bool is_http_url(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

std::string check_base(const toml::node& v) {
  auto s = v.value_or(std::string{});
  if (!is_http_url(s))
    return "an http:// or https:// URL (got \"" + s + "\")";
  if (s.find('?') != std::string::npos)
    return "a base URL without a query (\"/check_password?...\" is added)";
  return {};
}

std::string check_pattern(const toml::node& v) {
  auto s = v.value_or(std::string{});
  if (!is_http_url(s))
    return "an http:// or https:// URL (got \"" + s + "\")";
  auto at = s.find("%s");
  if (at == std::string::npos || s.find("%s", at + 2) != std::string::npos)
    return "a URL with exactly one %s (the url-encoded user name)";
  return {};
}

std::string check_credentials(const toml::node& v) {
  auto s = v.value_or(std::string{});
  if (s.find(':') == std::string::npos || s.front() == ':')
    return "\"user:password\"";
  return {};
}

std::string check_listen(const toml::node& v) {
  auto s = v.value_or(std::string{});
  auto colon = s.rfind(':');
  auto port = colon == std::string::npos
                ? 0L
                : std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535)
    return "IPV4-ADDRESS:PORT, e.g. \"127.0.0.1:5281\"";
  return {};
}

std::string str(const toml::table& opts, const char* key) {
  return opts[key].value_or(std::string{});
}

} // namespace

std::vector<option_spec> options() {
  using T = option_type;
  return {
    {"auth_url", T::string, false,
     "BASE of the auth service: GET BASE/check_password and "
     "BASE/user_exists, POST BASE/set_password, BASE/register, "
     "BASE/remove_user (Prosody's http_auth_url, MongooseIM's host)",
     check_base},
    {"roster_url", T::string, false,
     "GET: a user's roster as JSON, %s = the url-encoded user name "
     "(Prosody's http_roster_url)",
     check_pattern},
    {"vcard_url", T::string, false,
     "GET: a user's vcard-temp XML, %s = the url-encoded user name",
     check_pattern},
    {"basic_auth_user", T::string, false,
     "HTTP Basic user name of this server at the service"},
    {"basic_auth_password", T::string, false,
     "HTTP Basic password of this server at the service"},
    {"basic_auth", T::string, false,
     "\"user:password\" in one (MongooseIM's basic_auth, Prosody's "
     "http_auth_credentials); instead of the two keys above",
     check_credentials},
    {"ca_file", T::string, false,
     "CA certificates (PEM) that sign the service's certificate; default: "
     "the system's store"},
    {"tls_verify", T::boolean, false,
     "verify the service's certificate and name (default true; false is "
     "logged as a warning at every start)"},
    {"request_timeout_ms", T::integer, false,
     "deadline of one HTTP request (default 3000; keep it below the "
     "plugin's timeout_ms): past it a login gets <temporary-auth-failure/>",
     check_range(1, 600000)},
    {"max_response_bytes", T::integer, false,
     "largest response body read (default 65536); a larger one is an error",
     check_range(16, 64 * 1024 * 1024)},
    {"pool", T::integer, false,
     "HTTP connections open at once (default 4; more requests queue)",
     check_range(1, 1024)},
    {"refresh_listen", T::string, false,
     "ADDRESS:PORT where the web application POSTs a JSON list of user "
     "names to /roster_admin/refresh (mod_http_roster_admin); needs "
     "roster_url",
     check_listen},
    {"refresh_basic_auth", T::string, false,
     "\"user:password\" the refresh endpoint asks for (HTTP Basic)",
     check_credentials},
    vcard::avatar_hash_option(),
    {"roster_refresh_s", T::integer, false,
     "fetch the rosters of online users again this often and push what "
     "changed (default 0: never)",
     check_range(0, 86400)},
  };
}

manifest describe(const toml::table& opts) {
  manifest m;
  if (opts.contains("auth_url"))
    m.hooks = {hooks::id<hooks::auth_check_password>,
               hooks::id<hooks::auth_user_exists>,
               hooks::id<hooks::auth_set_password>,
               hooks::id<hooks::auth_register>,
               hooks::id<hooks::auth_remove_user>};
  auto online = opts.contains("roster_url") || opts.contains("vcard_url");
  if (opts.contains("roster_url"))
    for (auto h : {hooks::id<hooks::roster_get>,
                   hooks::id<hooks::roster_load_item>})
      m.hooks.push_back(h);
  // Who is online (roster pushes, avatar hashes), and what to forget
  // when the service's data changed (`ctl invalidate`).
  if (online)
    for (auto h : {hooks::id<hooks::session_bound>,
                   hooks::id<hooks::session_closed>,
                   hooks::id<hooks::cache_invalidate>})
      m.hooks.push_back(h);
  if (opts.contains("vcard_url")) {
    if (opts["avatar_hash"].value_or(true))
      m.hooks.push_back(hooks::id<hooks::presence_alter_available>);
    m.iqs.push_back(std::string{"get "} + vcard::ns_vcard);
    m.features.push_back(vcard::ns_vcard);
  }
  return m;
}

config configure(const spawn_context& ctx) {
  auto& o = ctx.options;
  config c;
  c.domain = ctx.domain;
  c.tag = "http: vhost " + ctx.domain;
  c.auth_url = str(o, "auth_url");
  while (!c.auth_url.empty() && c.auth_url.back() == '/')
    c.auth_url.pop_back();
  c.roster_url = str(o, "roster_url");
  c.vcard_url = str(o, "vcard_url");
  auto& k = c.client;
  k.tag = c.tag;
  k.basic_user = str(o, "basic_auth_user");
  k.basic_password = str(o, "basic_auth_password");
  if (auto both = str(o, "basic_auth"); !both.empty()) {
    auto colon = both.find(':');
    k.basic_user = both.substr(0, colon);
    k.basic_password = both.substr(colon + 1);
  }
  k.ca_file = str(o, "ca_file");
  k.tls_verify = o["tls_verify"].value_or(true);
  k.timeout = std::chrono::milliseconds{
    o["request_timeout_ms"].value_or(int64_t{3000})};
  k.max_response_bytes = static_cast<size_t>(
    o["max_response_bytes"].value_or(int64_t{64 * 1024}));
  k.max_connections = static_cast<long>(o["pool"].value_or(int64_t{4}));
  c.roster_refresh =
    std::chrono::seconds{o["roster_refresh_s"].value_or(int64_t{0})};
  c.refresh_listen = str(o, "refresh_listen");
  c.refresh_basic_auth = str(o, "refresh_basic_auth");
  if (!c.refresh_listen.empty() && c.refresh_basic_auth.empty()
      && c.refresh_listen.rfind("127.", 0) != 0)
    spdlog::warn("{}: refresh_listen {} is not loopback and asks for no "
                 "credentials (refresh_basic_auth)", c.tag,
                 c.refresh_listen);
  if (!c.refresh_listen.empty() && c.roster_url.empty())
    spdlog::warn("{}: refresh_listen without roster_url: no endpoint",
                 c.tag);
  if (!k.tls_verify)
    spdlog::warn("{}: tls_verify = false: the service's certificate is NOT "
                 "checked; anyone on the path can answer \"true\" to every "
                 "login", c.tag);
  if (!k.basic_user.empty() && k.basic_password.empty())
    spdlog::warn("{}: basic_auth_user without basic_auth_password", c.tag);
  return c;
}

std::string expand(const std::string& pattern, const std::string& user) {
  auto out = pattern;
  auto at = out.find("%s");
  if (at != std::string::npos)
    out.replace(at, 2, url_encode(user));
  return out;
}

} // namespace dja::plugins::http

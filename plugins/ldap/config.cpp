// The options of the `ldap` plugin (plugins/ldap/config.hpp).

#include "plugins/ldap/config.hpp"

#include <algorithm>
#include <sstream>

#include <spdlog/spdlog.h>

#include "hooks/catalogue.hpp"
#include "plugins/common/option_checks.hpp"
#include "plugins/ldap/filter.hpp"
#include "plugins/ldap/vcard_map.hpp"
#include "plugins/vcard/common/avatar.hpp"

namespace dja::plugins::ldap {

namespace {

using T = option_type;

std::string check_uri(const toml::node& v) {
  std::istringstream words{v.value_or(std::string{})};
  std::string w;
  std::string scheme;
  while (words >> w) {
    auto colon = w.find("://");
    auto mine = colon == std::string::npos ? "" : w.substr(0, colon);
    if (mine != "ldap" && mine != "ldaps")
      return "ldap://HOST[:PORT] or ldaps://HOST[:PORT] URIs, "
             "space-separated (got \"" + w + "\")";
    // StartTLS or not is one setting for all of them.
    if (!scheme.empty() && mine != scheme)
      return "URIs of one scheme, all ldap:// or all ldaps://";
    scheme = mine;
  }
  return scheme.empty() ? "an ldap:// or ldaps:// URI" : "";
}

std::string check_filter_value(const toml::node& v) {
  return check_filter(v.value_or(std::string{}));
}

std::string check_dn_template(const toml::node& v) {
  auto s = v.value_or(std::string{});
  if (s.find("$user") == std::string::npos || s.find('=') == std::string::npos)
    return "a DN with $user, e.g. \"uid=$user,ou=people,dc=example,dc=org\"";
  return {};
}

std::string check_attribute(const toml::node& v) {
  auto s = v.value_or(std::string{});
  bool ok = !s.empty() && std::isalpha(static_cast<unsigned char>(s[0]))
            && std::all_of(s.begin(), s.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '-';
               });
  return ok ? "" : "an LDAP attribute name (got \"" + s + "\")";
}

std::string str(const toml::table& o, const char* key,
                const std::string& fallback = {}) {
  return o[key].value_or(fallback);
}

} // namespace

bool config::members_by_name() const {
  return iequals(member_attribute, "memberUid");
}

std::vector<option_spec> options() {
  return {
    {"ldap_uri", T::string, true,
     "the directory: ldap://HOST[:PORT] (StartTLS) or ldaps://HOST[:PORT]; "
     "several, space-separated, are tried in order (ejabberd's "
     "ldap_servers)",
     check_uri},
    {"starttls", T::boolean, false,
     "StartTLS on ldap:// (default true; false sends passwords in the "
     "clear and is logged as a warning)"},
    {"tls_ca_file", T::string, false,
     "CA certificates (PEM) that sign the directory's certificate; "
     "default: the system's"},
    {"tls_verify", T::boolean, false,
     "verify the directory's certificate and name (default true)"},
    {"base", T::string, false,
     "where users are searched (search-then-bind; ejabberd's ldap_base)"},
    {"filter", T::string, false,
     "the user's entry under base, $user and $domain escaped (RFC 4515); "
     "default \"(uid=$user)\"",
     check_filter_value},
    {"uid_attribute", T::string, false,
     "the attribute holding the user name (default uid; ejabberd's "
     "ldap_uids)",
     check_attribute},
    {"bind_dn_template", T::string, false,
     "direct bind: the user's DN, $user escaped (RFC 4514), e.g. "
     "\"uid=$user,ou=people,dc=example,dc=org\"",
     check_dn_template},
    {"bind_dn", T::string, false,
     "the service DN searches run as (default anonymous; ejabberd's "
     "ldap_rootdn)"},
    {"bind_password", T::string, false,
     "the password of bind_dn (ejabberd's ldap_password)"},
    {"vcard", T::boolean, false,
     "serve vCards (XEP-0054) from the user's entry (default true)"},
    {"vcard_map", T::string_map, false,
     "vCard element -> attribute, as ejabberd's ldap_vcard_map (default: "
     "FN cn, NICKNAME uid, N/FAMILY sn, N/GIVEN givenName, EMAIL/USERID "
     "mail, TEL/NUMBER telephoneNumber, ORG o/ou, TITLE, DESC "
     "description, PHOTO jpegPhoto)",
     check_vcard_map},
    vcard::avatar_hash_option(),
    {"group_base", T::string, false,
     "where shared roster groups are searched: members see each other "
     "with subscription both"},
    {"group_filter", T::string, false,
     "which entries under group_base are groups (default "
     "\"(objectClass=*)\")",
     check_filter_value},
    {"member_attribute", T::string, false,
     "member / uniqueMember (DNs) or memberUid (user names); default "
     "member",
     check_attribute},
    {"group_name_attribute", T::string, false,
     "the group's name in the roster (default cn)", check_attribute},
    {"cache_ttl", T::integer, false,
     "seconds a found entry is cached (default 0: none; passwords never)",
     check_range(0, 86400)},
    {"negative_ttl", T::integer, false,
     "seconds \"no such entry\" is cached (default 0)",
     check_range(0, 86400)},
    {"pool_size", T::integer, false,
     "workers, each a thread with its own connections (default 2)",
     check_range(1, 64)},
    {"query_timeout_ms", T::integer, false,
     "bound of one request to the directory, connecting and TLS "
     "included (default 3000; keep it below the plugin's timeout_ms)",
     check_range(100, 60000)},
  };
}

manifest describe(const toml::table& opts) {
  manifest m;
  bool search = opts.contains("base");
  if (!search && !opts.contains("bind_dn_template")) {
    m.error = "base (search-then-bind) or bind_dn_template (direct bind)";
    return m;
  }
  // Passwords are checked by a bind: PLAIN only (no SCRAM credentials).
  m.hooks = {hooks::id<hooks::auth_check_password>,
             hooks::id<hooks::auth_user_exists>};
  if (search)
    m.hooks.push_back(hooks::id<hooks::auth_list_users>);
  if (opts.contains("group_base"))
    for (auto h : {hooks::id<hooks::roster_get>,
                   hooks::id<hooks::roster_load_item>,
                   // who is online, for the pushes of an invalidation
                   hooks::id<hooks::session_bound>,
                   hooks::id<hooks::session_closed>})
      m.hooks.push_back(h);
  // `djabberd-actors ctl invalidate`: the cache and avatar hashes dropped,
  // changed rosters pushed.
  m.hooks.push_back(hooks::id<hooks::cache_invalidate>);
  if (opts["vcard"].value_or(true)) {
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
  c.tag = "ldap: vhost " + ctx.domain;
  auto& k = c.conn;
  k.tag = c.tag;
  k.uri = str(o, "ldap_uri");
  k.starttls = k.uri.rfind("ldap://", 0) == 0 && o["starttls"].value_or(true);
  k.tls_verify = o["tls_verify"].value_or(true);
  k.ca_file = str(o, "tls_ca_file");
  k.bind_dn = str(o, "bind_dn");
  k.bind_password = str(o, "bind_password");
  k.timeout = std::chrono::milliseconds{
    o["query_timeout_ms"].value_or(int64_t{3000})};
  c.uid_attribute = str(o, "uid_attribute", "uid");
  c.base = str(o, "base");
  c.filter = str(o, "filter", "(" + c.uid_attribute + "=$user)");
  c.bind_dn_template = str(o, "bind_dn_template");
  if (o["vcard"].value_or(true)) {
    std::map<std::string, std::string> map;
    if (auto t = o["vcard_map"].as_table())
      for (auto& [key, v] : *t)
        map[std::string{key.str()}] = v.value_or(std::string{});
    else
      map = default_vcard_map();
    std::tie(c.vcard_template, c.vcard_attrs) = vcard_template(map);
  }
  c.avatar_hash = o["avatar_hash"].value_or(true);
  c.group_base = str(o, "group_base");
  c.group_filter = str(o, "group_filter", "(objectClass=*)");
  c.member_attribute = str(o, "member_attribute", "member");
  c.group_name_attribute = str(o, "group_name_attribute", "cn");
  c.cache_ttl = std::chrono::seconds{o["cache_ttl"].value_or(int64_t{0})};
  c.negative_ttl =
    std::chrono::seconds{o["negative_ttl"].value_or(int64_t{0})};
  c.pool_size = static_cast<size_t>(o["pool_size"].value_or(int64_t{2}));
  if (k.uri.rfind("ldap://", 0) == 0 && !k.starttls)
    spdlog::warn("{}: starttls = false: passwords go to {} in the clear",
                 c.tag, k.uri);
  if (!k.tls_verify)
    spdlog::warn("{}: tls_verify = false: the directory's certificate is "
                 "NOT checked; anyone on the path can accept every login",
                 c.tag);
  if (k.bind_dn.empty() != k.bind_password.empty())
    spdlog::warn("{}: bind_dn and bind_password go together; searches "
                 "may be refused", c.tag);
  return c;
}

} // namespace dja::plugins::ldap

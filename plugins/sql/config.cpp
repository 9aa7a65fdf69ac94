// The options of the `sql` plugin (plugins/sql/config.hpp).

#include "plugins/sql/config.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "plugins/common/pgsql/connection.hpp"
#include "plugins/sql/vcard.hpp"

namespace dja::plugins::sql {

namespace {

using P = param;

/// One query option: its key, its Openfire alias, the placeholders it
/// may use and what a lone `?` stands for, in order.
struct query_key {
  const char* key;
  const char* alias; ///< "" when Openfire has no such setting
  query queries::*member;
  std::vector<param> allowed;
  std::vector<param> defaults;
  const char* doc;
};

const std::vector<query_key>& query_keys() {
  static const std::vector<query_key> keys = {
    {"password_sql", "passwordSQL", &queries::password,
     {P::user, P::domain, P::jid}, {P::user},
     "the stored password of :user (columns: password or the first one, "
     "optional salt; SCRAM formats: stored_key, server_key, salt, "
     "iterations)"},
    {"check_password_sql", "", &queries::check_password,
     {P::user, P::domain, P::jid, P::password}, {P::user, P::password},
     "a row whose first value is true when :password is right for :user "
     "(the database checks)"},
    {"user_exists_sql", "loadUserSQL", &queries::user_exists,
     {P::user, P::domain, P::jid}, {P::user}, "a row when :user exists"},
    {"set_password_sql", "setPasswordSQL", &queries::set_password,
     {P::user, P::domain, P::jid, P::password}, {P::password, P::user},
     "changes the password of :user to :password (in password_format)"},
    {"register_sql", "", &queries::register_user,
     {P::user, P::domain, P::jid, P::password}, {P::user, P::password},
     "creates :user with :password (in password_format)"},
    {"remove_user_sql", "", &queries::remove_user,
     {P::user, P::domain, P::jid}, {P::user}, "deletes :user"},
    {"list_users_sql", "allUsersSQL", &queries::list_users,
     {P::domain}, {}, "the user names (first column) of :domain"},
    {"roster_sql", "", &queries::roster,
     {P::user, P::domain, P::jid}, {P::user},
     "the roster rows of :user: contact, name, subscription, group"},
    {"user_groups_sql", "userGroupsSQL", &queries::user_groups,
     {P::user, P::domain, P::jid}, {P::user},
     "the shared roster groups of :user (first column)"},
    {"group_members_sql", "loadMembersSQL", &queries::group_members,
     {P::group, P::domain}, {P::group},
     "the members (first column, user or user@domain) of :group"},
    {"vcard_sql", "", &queries::vcard,
     {P::user, P::domain, P::jid}, {P::user},
     "one row of columns for vcard_template"},
    {"presence_sql", "", &queries::presence,
     {P::user, P::domain, P::jid}, {P::user},
     "the presence of :user known to the site (rows: show, status, "
     "resource), given to her subscribers when they probe"},
  };
  return keys;
}

/// The value of `key` or of its alias.
const toml::node* value(const toml::table& opts, const char* key,
                        const char* alias) {
  if (auto v = opts.get(key))
    return v;
  if (*alias != '\0')
    return opts.get(alias);
  return nullptr;
}

std::string check_driver(const toml::node& v) {
  auto s = v.value_or(std::string{});
  if (s == "sqlite" || s == "pgsql" || s == "mariadb")
    return {};
  return "\"sqlite\", \"pgsql\" or \"mariadb\" (got \"" + s + "\")";
}

/// The driver is not known here (another key): a DSN either driver
/// takes is accepted; the driver that cannot use it fails at connect.
std::string check_dsn(const toml::node& v) {
  auto dsn = v.value_or(std::string{});
  if (pgsql::check_dsn(dsn).empty() || check_mariadb_dsn(dsn).empty())
    return {};
  return "a libpq connection string (pgsql) or key=value words among "
         "host, port, socket, user, password, dbname (mariadb)";
}

std::string check_format(const toml::node& v) {
  std::string err;
  if (auto s = v.as_string())
    parse_format(s->get(), err);
  return err;
}

std::string check_chain(const toml::node& v) {
  std::vector<std::string> steps;
  if (auto a = v.as_array())
    for (auto& x : *a)
      steps.push_back(x.value_or(std::string{}));
  std::string err;
  parse_chain(steps, err);
  return err;
}

std::optional<password_format> format_of(const toml::table& opts) {
  std::string err;
  if (auto chain = opts["password_chain"].as_array()) {
    std::vector<std::string> steps;
    for (auto& x : *chain)
      steps.push_back(x.value_or(std::string{}));
    return parse_chain(steps, err);
  }
  auto v = value(opts, "password_format", "passwordType");
  return parse_format(v ? v->value_or(std::string{"plain"}) : "plain", err);
}

bool is_set(const toml::table& opts, const char* key, const char* alias) {
  return value(opts, key, alias) != nullptr;
}

} // namespace

bool config::can_store_passwords() const {
  return encodable(format);
}

std::vector<option_spec> options() {
  std::vector<option_spec> out = {
    {"driver", option_type::string, true,
     "\"sqlite\", \"pgsql\" or \"mariadb\"", check_driver},
    {"database", option_type::string, false,
     "sqlite: the site's database file (relative to server.data_dir); "
     "never created"},
    {"dsn", option_type::string, false,
     "pgsql: a libpq connection string; mariadb: host=... port=... "
     "socket=... user=... password=... dbname=...",
     check_dsn},
    {"password_format", option_type::string, false,
     "the form of password_sql's rows (default plain); a comma list is a "
     "chain, as Openfire's passwordType",
     check_format},
    {"passwordType", option_type::string, false,
     "Openfire's name of password_format", check_format},
    {"password_chain", option_type::string_list, false,
     "password_format as a list of steps, applied in order", check_chain},
    {"allowUpdate", option_type::boolean, false,
     "Openfire: false ignores setPasswordSQL (default true)"},
    {"vcard_template", option_type::string, false,
     "the vCard XML with {column} and {column|base64} / {column|mime} "
     "(default: FN, NICKNAME, EMAIL, PHOTO from columns of those names)",
     check_template},
    {"avatar_hash", option_type::boolean, false,
     "XEP-0153 photo hashes in presence (default true)"},
    {"cache_ttl", option_type::integer, false,
     "seconds a found row is cached (default 0: not cached)"},
    {"negative_ttl", option_type::integer, false,
     "seconds a missing row is cached (default 0)"},
    {"pool_size", option_type::integer, false,
     "connections, each in its own thread (default 2, 1..64)"},
    {"roster_refresh_s", option_type::integer, false,
     "seconds between reads of online users' rosters, changes pushed to "
     "them (default 0: never)"},
    {"query_timeout_ms", option_type::integer, false,
     "bound of one query in milliseconds (default 4000)"},
  };
  for (auto& k : query_keys()) {
    auto allowed = k.allowed;
    auto defaults = k.defaults;
    auto check = [allowed, defaults](const toml::node& v) -> std::string {
      std::string err;
      compile(v.value_or(std::string{}), dialect::sqlite, allowed, defaults,
              err);
      return err;
    };
    out.push_back({k.key, option_type::string, false, k.doc, check});
    if (*k.alias != '\0')
      out.push_back({k.alias, option_type::string, false,
                     std::string{"Openfire's name of "} + k.key, check});
  }
  return out;
}

manifest describe(const toml::table& opts) {
  manifest m;
  auto set = [&](const char* key) {
    for (auto& k : query_keys())
      if (std::string_view{k.key} == key)
        return is_set(opts, k.key, k.alias);
    return false;
  };
  auto fmt = format_of(opts);
  bool storable = fmt && encodable(*fmt);
  if (set("password_sql") || set("check_password_sql"))
    m.hooks.push_back(hooks::id<hooks::auth_check_password>);
  // SCRAM where the stored form allows it (plaintext or SCRAM columns);
  // otherwise the vhost offers PLAIN only (decided and logged at start).
  if (set("password_sql") && fmt && fmt->scram_capable())
    m.hooks.push_back(hooks::id<hooks::auth_get_scram>);
  if (set("user_exists_sql") || set("password_sql"))
    m.hooks.push_back(hooks::id<hooks::auth_user_exists>);
  // Writes only with their query (read-only by default) and a format
  // the server can write.
  if (set("set_password_sql") && storable
      && opts["allowUpdate"].value_or(true))
    m.hooks.push_back(hooks::id<hooks::auth_set_password>);
  if (set("register_sql") && storable)
    m.hooks.push_back(hooks::id<hooks::auth_register>);
  if (set("remove_user_sql"))
    m.hooks.push_back(hooks::id<hooks::auth_remove_user>);
  if (set("list_users_sql"))
    m.hooks.push_back(hooks::id<hooks::auth_list_users>);
  if (set("roster_sql") || set("user_groups_sql")) {
    m.hooks.push_back(hooks::id<hooks::roster_get>);
    m.hooks.push_back(hooks::id<hooks::roster_load_item>);
    // Who is online, for the roster pushes of roster_refresh_s and
    // cache.invalidate.
    m.hooks.push_back(hooks::id<hooks::session_bound>);
    m.hooks.push_back(hooks::id<hooks::session_closed>);
  }
  // The site's rows change outside the server: `ctl invalidate` drops
  // the cached ones and pushes changed rosters.
  m.hooks.push_back(hooks::id<hooks::cache_invalidate>);
  if (set("presence_sql"))
    m.hooks.push_back(hooks::id<hooks::presence_check>);
  if (set("vcard_sql")) {
    m.iqs.push_back("get vcard-temp");
    m.features.push_back("vcard-temp");
    if (opts["avatar_hash"].value_or(true))
      m.hooks.push_back(hooks::id<hooks::presence_alter_available>);
  }
  return m;
}

config configure(const spawn_context& ctx) {
  auto& opts = ctx.options;
  config c;
  c.domain = ctx.domain;
  c.tag = "sql: vhost " + ctx.domain;
  c.driver = opts["driver"].value_or(std::string{"sqlite"});
  auto d = c.driver == "pgsql"     ? dialect::pgsql
           : c.driver == "mariadb" ? dialect::mariadb
                                   : dialect::sqlite;
  c.conn.tag = c.tag;
  if (c.driver == "sqlite") {
    std::filesystem::path file
      = opts["database"].value_or(std::string{"site.sqlite"});
    // ":memory:" is SQLite's database in memory (tests, or queries that
    // need no table).
    c.conn.target = file.is_absolute() || file == ":memory:"
                      ? file.string()
                      : (std::filesystem::path{ctx.data_dir} / file).string();
  } else {
    c.conn.target = opts["dsn"].value_or(std::string{});
  }
  c.conn.timeout = std::chrono::milliseconds{
    std::clamp<int64_t>(opts["query_timeout_ms"].value_or(int64_t{4000}), 100,
                        60000)};
  if (auto f = format_of(opts))
    c.format = std::move(*f);
  for (auto& k : query_keys()) {
    auto v = value(opts, k.key, k.alias);
    if (v == nullptr)
      continue;
    if (*k.alias != '\0' && opts.get(k.key) && opts.get(k.alias))
      spdlog::warn("{}: both {} and its alias {} are set; using {}", c.tag,
                   k.key, k.alias, k.key);
    std::string err;
    if (auto q = compile(v->value_or(std::string{}), d, k.allowed,
                         k.defaults, err))
      c.q.*(k.member) = std::move(*q);
  }
  if (opts["allowUpdate"].value_or(true) == false)
    c.q.set_password = {};
  if ((!c.q.set_password.empty() || !c.q.register_user.empty())
      && !c.can_store_passwords()) {
    spdlog::error("{}: set_password_sql / register_sql are ignored: the "
                  "server cannot write passwords in this password_format "
                  "(salted digests, dovecot, auto, scram)",
                  c.tag);
    c.q.set_password = {};
    c.q.register_user = {};
  }
  c.vcard_template = opts["vcard_template"].value_or(
    std::string{default_template});
  c.avatar_hash = opts["avatar_hash"].value_or(true);
  c.cache_ttl = std::chrono::seconds{
    std::max<int64_t>(0, opts["cache_ttl"].value_or(int64_t{0}))};
  c.negative_ttl = std::chrono::seconds{
    std::max<int64_t>(0, opts["negative_ttl"].value_or(int64_t{0}))};
  c.roster_refresh = std::chrono::seconds{
    std::max<int64_t>(0, opts["roster_refresh_s"].value_or(int64_t{0}))};
  c.pool_size = static_cast<size_t>(
    std::clamp<int64_t>(opts["pool_size"].value_or(int64_t{2}), 1, 64));
  return c;
}

} // namespace dja::plugins::sql

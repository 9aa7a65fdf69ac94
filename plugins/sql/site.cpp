// The work of one `sql` worker (plugins/sql/site.hpp).

#include "plugins/sql/site.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/crypto.hpp"
#include "common/jid.hpp"
#include "common/scram.hpp"
#include "plugins/sql/vcard.hpp"

namespace dja::plugins::sql {

namespace {

/// SCRAM iterations for credentials derived from a plaintext column.
constexpr uint32_t plain_scram_iterations = 4096;

caf::error runtime_error(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

/// A database's idea of true: a value that is not NULL, 0, f, false, no.
bool truthy(const std::optional<std::string>& v) {
  if (!v)
    return false;
  std::string s = *v;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return !(s.empty() || s == "0" || s == "f" || s == "false" || s == "no");
}

/// Raw bytes of lower- or upper-case hex; nullopt when not hex.
std::optional<std::string> unhex(const std::string& text) {
  auto val = [](char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    auto hi = val(text[i]);
    auto lo = val(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

} // namespace

std::optional<std::string> rows::cell(const std::string& column,
                                     int fallback, size_t row) const {
  auto c = index(column);
  if (c < 0)
    c = fallback;
  if (c < 0 || row >= data.size()
      || static_cast<size_t>(c) >= data[row].size())
    return std::nullopt;
  return data[row][c];
}

int rows::index(const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].size() == column.size()
        && std::equal(columns[i].begin(), columns[i].end(), column.begin(),
                      [](char a, char b) {
                        return std::tolower(static_cast<unsigned char>(a))
                               == std::tolower(static_cast<unsigned char>(b));
                      }))
      return static_cast<int>(i);
  return -1;
}

site::site(std::shared_ptr<shared_state> st) : st_(std::move(st)) {
  auto& c = st_->cfg;
  conn_ = c.driver == "pgsql"     ? open_pgsql(c.conn)
          : c.driver == "mariadb" ? open_mariadb(c.conn)
                                  : open_sqlite(c.conn);
}

caf::expected<rows> site::run(const query& q, const std::string& user,
                              const std::string& password,
                              const std::string& group, bool cached) {
  auto& c = st_->cfg;
  std::vector<std::string> values;
  for (auto p : q.params)
    switch (p) {
      case param::user:
        values.push_back(user);
        break;
      case param::domain:
        values.push_back(c.domain);
        break;
      case param::jid:
        values.push_back(user + "@" + c.domain);
        break;
      case param::password:
        values.push_back(password);
        break;
      case param::contact:
        values.emplace_back();
        break;
      case param::group:
        values.push_back(group);
        break;
    }
  std::string key;
  if (cached && (c.cache_ttl.count() > 0 || c.negative_ttl.count() > 0)) {
    key = q.text;
    for (auto& v : values)
      key += std::string{"\0", 1} + v;
    if (auto hit = st_->cache.get(key))
      return std::move(*hit);
  }
  auto res = conn_->run(q, values);
  if (res && !key.empty())
    st_->cache.put(key, *res, res->data.empty() ? c.negative_ttl
                                                : c.cache_ttl);
  return res;
}

void site::log_unknown(const std::string& form) {
  std::lock_guard<std::mutex> guard{st_->logged_mtx};
  if (st_->logged.insert(form).second)
    spdlog::error("{}: a password_sql row holds a {}, which password_format "
                  "cannot check: such logins are refused (logged once per "
                  "form)",
                  cfg().tag, form);
}

caf::expected<std::optional<bool>>
site::check_password(const std::string& user, const std::string& pw) {
  using res_t = std::optional<bool>;
  auto& c = cfg();
  if (!c.q.check_password.empty()) {
    // The database checks; the password is bound, never cached.
    auto r = run(c.q.check_password, user, pw, {}, false);
    if (!r)
      return r.error();
    if (!r->data.empty())
      return res_t{truthy(r->cell("", 0))};
    if (!c.q.user_exists.empty() || !c.q.password.empty()) {
      auto found = exists(user);
      if (!found)
        return found.error();
      if (!*found)
        return res_t{};
    }
    return res_t{false};
  }
  auto r = run(c.q.password, user);
  if (!r)
    return r.error();
  if (r->data.empty())
    return res_t{}; // no such user: another plugin may know her
  if (!c.format.scram_hash().empty()) {
    // SCRAM columns: recompute the StoredKey from the password.
    auto creds = scram(user, c.format.scram_hash());
    if (!creds)
      return creds.error();
    if (!creds->found)
      return res_t{false};
    auto h = c.format.scram_hash() == "SHA-1" ? crypto::hash_fn::sha1
                                              : crypto::hash_fn::sha256;
    auto mine = scram::derive(h, pw, creds->salt, creds->iterations);
    return res_t{crypto::equal(mine.stored_key, creds->stored_key)};
  }
  auto value = r->cell("password", 0);
  if (!value)
    return res_t{false}; // NULL: an account without a password
  stored_password row{*value, r->cell("salt").value_or(""), user, c.domain};
  std::string unknown;
  auto v = verify(c.format, row, pw, unknown);
  if (v == verdict::unknown) {
    log_unknown(unknown);
    return res_t{false};
  }
  return res_t{v == verdict::accept};
}

caf::expected<hooks::scram_credentials>
site::scram(const std::string& user, const std::string& hash) {
  hooks::scram_credentials out;
  auto& c = cfg();
  auto h = crypto::hash_from_name(hash);
  if (!h || c.q.password.empty() || !c.format.scram_capable())
    return out;
  auto r = run(c.q.password, user);
  if (!r)
    return r.error();
  if (r->data.empty())
    return out;
  if (c.format.scram_hash().empty()) {
    // Plaintext rows: fresh credentials for this exchange.
    auto pw = r->cell("password", 0);
    if (!pw)
      return out;
    try {
      return scram::derive(*h, *pw, crypto::random_bytes(16),
                           plain_scram_iterations);
    } catch (const std::exception& ex) {
      return runtime_error(ex.what());
    }
  }
  if (hash != c.format.scram_hash())
    return out; // stored for the other hash function only
  // Keys in base64 (ejabberd) or hex (Prosody), told by their length.
  auto size = crypto::digest_size(*h);
  auto key = [&](const char* name, const char* alt)
    -> std::optional<std::string> {
    auto v = r->cell(name);
    if (!v)
      v = r->cell(alt);
    if (!v)
      return std::nullopt;
    if (v->size() == 2 * size)
      return unhex(*v);
    return base64::decode(*v);
  };
  auto stored = key("stored_key", "password");
  auto server = key("server_key", "serverkey");
  // The salt: base64 in `salt` (ejabberd), as it is in `salt_raw`
  // (Prosody keeps its salt as text).
  auto salt = r->cell("salt_raw");
  if (!salt) {
    auto b = r->cell("salt");
    salt = b ? base64::decode(*b) : std::nullopt;
  }
  std::optional<std::string> iter;
  for (auto name : {"iterations", "iterationcount", "iteration_count"})
    if (!iter)
      iter = r->cell(name);
  long n = iter ? std::strtol(iter->c_str(), nullptr, 10) : 0;
  if (!stored || !server || !salt || n < 1 || n > 10'000'000
      || stored->size() != crypto::digest_size(*h)) {
    log_unknown("SCRAM row that is not base64 stored_key, server_key, "
                "salt and iterations");
    return out;
  }
  out.found = true;
  out.salt = std::move(*salt);
  out.iterations = static_cast<uint32_t>(n);
  out.stored_key = std::move(*stored);
  out.server_key = std::move(*server);
  return out;
}

caf::expected<bool> site::exists(const std::string& user) {
  auto& c = cfg();
  auto& q = c.q.user_exists.empty() ? c.q.password : c.q.user_exists;
  if (q.empty())
    return false;
  auto r = run(q, user);
  if (!r)
    return r.error();
  return !r->data.empty();
}

caf::expected<int64_t> site::write(const query& q, const std::string& user,
                                   const std::string& password) {
  std::string stored;
  if (!password.empty()) {
    auto enc = encode(cfg().format, password);
    if (!enc)
      return runtime_error("cannot make a password in password_format");
    stored = std::move(*enc);
  }
  auto r = run(q, user, stored, {}, false);
  if (!r)
    return r.error();
  st_->cache.clear(); // what was cached may have changed
  return r->affected;
}

caf::expected<std::vector<std::string>> site::list_users() {
  auto r = run(cfg().q.list_users, {}, {}, {}, false);
  if (!r)
    return r.error();
  std::vector<std::string> out;
  for (size_t i = 0; i < r->data.size(); ++i)
    if (auto v = r->cell("", 0, i))
      out.push_back(std::move(*v));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

caf::expected<xml::element_ptr> site::vcard(const std::string& user) {
  auto r = run(cfg().q.vcard, user);
  if (!r)
    return r.error();
  if (r->data.empty())
    return xml::element_ptr{};
  auto v = render(cfg().vcard_template, *r, 0);
  if (!v)
    return runtime_error("vcard_template does not give a vCard for "
                         + user);
  return v;
}

} // namespace dja::plugins::sql

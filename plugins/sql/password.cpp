// Password formats (plugins/sql/password.hpp): parsing a format and
// running its chain of steps; the hashes themselves are hashes.cpp.

#include "plugins/sql/password.hpp"

#include <algorithm>
#include <cctype>

#include "common/crypto.hpp"
#include "plugins/sql/hashes.hpp"

namespace dja::plugins::sql {

namespace {

using step = password_step;

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string{s};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

constexpr const char* known_names
  = "plain, md5, sha1, sha224, sha256, sha384, sha512 (each with an "
    "optional :TEMPLATE), bcrypt, crypt, sha512-crypt, sha256-crypt, "
    "argon2, argon2id, argon2i, django, dovecot, auto, scram-sha-1, "
    "scram-sha-256";

/// One step "name" or "name:template".
std::optional<step> parse_step(std::string_view text, std::string& err) {
  auto t = trimmed(text);
  auto colon = t.find(':');
  auto name = lower(trimmed(t.substr(0, colon)));
  step s;
  s.name = name;
  if (colon != std::string::npos) {
    s.tmpl = t.substr(colon + 1);
    if (s.tmpl.find("{password}") == std::string::npos) {
      err = "a template that contains {password} (in \"" + t + "\")";
      return std::nullopt;
    }
  }
  if (name == "plain" || name == "plaintext" || name == "clear")
    s.kind = step::plain;
  else if (name == "md5" || name == "sha1" || name == "sha224"
           || name == "sha256" || name == "sha384" || name == "sha512")
    s.kind = step::digest;
  else if (name == "bcrypt" || name == "crypt" || name == "sha512-crypt"
           || name == "sha256-crypt" || name == "md5-crypt"
           || name == "yescrypt")
    s.kind = step::crypt;
  else if (name == "argon2" || name == "argon2id" || name == "argon2i")
    s.kind = step::argon2;
  else if (name == "django" || name == "pbkdf2_sha256")
    s.kind = step::django;
  else if (name == "dovecot")
    s.kind = step::dovecot;
  else if (name == "auto")
    s.kind = step::automatic;
  else if (name == "scram-sha-1" || name == "scram-sha-256") {
    s.kind = step::scram;
    s.name = name == "scram-sha-1" ? "SHA-1" : "SHA-256";
  } else {
    err = "a password format, one of " + std::string{known_names}
          + " (got \"" + name + "\")";
    return std::nullopt;
  }
  if (colon != std::string::npos && s.kind != step::digest) {
    err = "a template only after a digest (md5, sha1, ...), not after "
          + name;
    return std::nullopt;
  }
  return s;
}

std::optional<password_format> checked(password_format f, std::string& err) {
  if (f.steps.empty()) {
    err = "at least one password format step";
    return std::nullopt;
  }
  for (size_t i = 0; i + 1 < f.steps.size(); ++i)
    if (f.steps[i].kind != step::plain && f.steps[i].kind != step::digest) {
      err = "only plain and digest steps before the last one of a chain "
            "(" + f.steps[i].name + " is a stored form, not a function)";
      return std::nullopt;
    }
  if (f.steps.back().kind == step::scram && f.steps.size() > 1) {
    err = "scram-sha-1 / scram-sha-256 alone (SCRAM columns), not in a "
          "chain";
    return std::nullopt;
  }
  return f;
}

/// `tmpl` with {password}, {salt}, {user} and {domain} replaced (one pass,
/// so a value containing "{salt}" is not expanded again).
std::string expand(const std::string& tmpl, std::string_view password,
                   const stored_password& row) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    auto open = tmpl.find('{', i);
    if (open == std::string::npos) {
      out.append(tmpl, i, std::string::npos);
      break;
    }
    out.append(tmpl, i, open - i);
    auto close = tmpl.find('}', open);
    auto key = close == std::string::npos
                 ? std::string{}
                 : tmpl.substr(open + 1, close - open - 1);
    if (key == "password")
      out.append(password);
    else if (key == "salt")
      out += row.salt;
    else if (key == "user")
      out += row.user;
    else if (key == "domain")
      out += row.domain;
    else {
      out += '{';
      i = open + 1;
      continue;
    }
    i = close + 1;
  }
  return out;
}

std::string lower_copy(std::string_view s) {
  return lower(std::string{s});
}

} // namespace

std::string password_format::scram_hash() const {
  if (steps.size() == 1 && steps[0].kind == step::scram)
    return steps[0].name;
  return {};
}

bool password_format::scram_capable() const {
  return steps.size() == 1
         && (steps[0].kind == step::scram || steps[0].kind == step::plain);
}

std::optional<password_format> parse_format(std::string_view text,
                                            std::string& err) {
  std::vector<std::string> parts;
  size_t i = 0;
  for (;;) {
    auto comma = text.find(',', i);
    parts.emplace_back(text.substr(i, comma - i));
    if (comma == std::string_view::npos)
      break;
    i = comma + 1;
  }
  return parse_chain(parts, err);
}

std::optional<password_format>
parse_chain(const std::vector<std::string>& steps, std::string& err) {
  password_format f;
  for (auto& s : steps) {
    auto p = parse_step(s, err);
    if (!p)
      return std::nullopt;
    f.steps.push_back(std::move(*p));
  }
  return checked(std::move(f), err);
}

verdict verify(const password_format& fmt, const stored_password& stored,
               std::string_view password, std::string& unknown) {
  // Every step but the last transforms the password.
  std::string value{password};
  for (size_t i = 0; i + 1 < fmt.steps.size(); ++i) {
    auto& s = fmt.steps[i];
    if (s.kind == step::digest)
      value = hashes::hex_digest(s.name, expand(s.tmpl, value, stored));
  }
  auto& last = fmt.steps.back();
  switch (last.kind) {
    case step::plain:
      return crypto::equal(value, stored.value) ? verdict::accept
                                                : verdict::reject;
    case step::digest: {
      auto mine = hashes::hex_digest(last.name,
                                     expand(last.tmpl, value, stored));
      if (mine.empty()) {
        unknown = "digest " + last.name + " (not in OpenSSL)";
        return verdict::unknown;
      }
      // Hex in the table may be upper-case (MySQL's HEX(), SHA2()).
      return crypto::equal(mine, lower_copy(stored.value)) ? verdict::accept
                                                           : verdict::reject;
    }
    case step::crypt: {
      // The named methods check their own prefix: libxcrypt would take
      // a bare hex value for a traditional DES setting and say "wrong".
      auto prefix = last.name == "bcrypt"         ? "$2"
                    : last.name == "sha512-crypt" ? "$6$"
                    : last.name == "sha256-crypt" ? "$5$"
                    : last.name == "md5-crypt"    ? "$1$"
                    : last.name == "yescrypt"     ? "$y$"
                                                  : "";
      if (stored.value.rfind(prefix, 0) != 0) {
        unknown = "value that is not " + last.name + " (no " + prefix
                  + " prefix)";
        return verdict::unknown;
      }
      return hashes::check_crypt(stored.value, value, unknown);
    }
    case step::argon2:
      return hashes::check_argon2(stored.value, value, unknown);
    case step::django:
      return hashes::check_django(stored.value, value, unknown);
    case step::dovecot:
      return hashes::check_dovecot(stored.value, value, unknown);
    case step::automatic:
      return hashes::check_auto(stored.value, value, unknown);
    case step::scram:
      break;
  }
  unknown = "scram format checked as a password";
  return verdict::unknown;
}

bool encodable(const password_format& fmt) {
  for (auto& s : fmt.steps)
    if (s.tmpl.find("{salt}") != std::string::npos)
      return false;
  auto& last = fmt.steps.back();
  return last.kind == step::plain || last.kind == step::digest
         || last.kind == step::crypt || last.kind == step::argon2
         || last.kind == step::django;
}

std::optional<std::string> encode(const password_format& fmt,
                                  std::string_view password) {
  if (!encodable(fmt))
    return std::nullopt;
  std::string value{password};
  stored_password none;
  for (size_t i = 0; i + 1 < fmt.steps.size(); ++i)
    if (fmt.steps[i].kind == step::digest)
      value = hashes::hex_digest(fmt.steps[i].name,
                                 expand(fmt.steps[i].tmpl, value, none));
  auto& last = fmt.steps.back();
  std::string out;
  switch (last.kind) {
    case step::plain:
      return value;
    case step::digest:
      out = hashes::hex_digest(last.name, expand(last.tmpl, value, none));
      break;
    case step::crypt:
      out = hashes::make_crypt(last.name == "sha512-crypt" ? "$6$"
                               : last.name == "sha256-crypt" ? "$5$"
                               : last.name == "yescrypt"     ? "$y$"
                                                             : "$2y$",
                               value);
      break;
    case step::argon2:
      out = hashes::make_argon2id(value);
      break;
    case step::django:
      out = hashes::make_django(value);
      break;
    default:
      break;
  }
  if (out.empty())
    return std::nullopt;
  return out;
}

} // namespace dja::plugins::sql

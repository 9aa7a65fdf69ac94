// Placeholders to positional parameters (plugins/sql/query.hpp).

#include "plugins/sql/query.hpp"

#include <algorithm>
#include <cctype>

namespace dja::plugins::sql {

namespace {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

struct named {
  const char* text;
  param p;
};

constexpr named names[] = {
  {"user", param::user},         {"domain", param::domain},
  {"jid", param::jid},           {"password", param::password},
  {"contact", param::contact},   {"group", param::group},
};

} // namespace

const char* name(param p) {
  switch (p) {
    case param::user:
      return ":user";
    case param::domain:
      return ":domain";
    case param::jid:
      return ":jid";
    case param::password:
      return ":password";
    case param::contact:
      return ":contact";
    case param::group:
      return ":group";
  }
  return "?";
}

std::optional<query> compile(std::string_view sql, dialect d,
                             const std::vector<param>& allowed,
                             const std::vector<param>& defaults,
                             std::string& err) {
  query q;
  size_t next_default = 0;
  auto emit = [&](param p) -> bool {
    if (std::find(allowed.begin(), allowed.end(), p) == allowed.end()) {
      std::string list;
      for (auto a : allowed)
        list += std::string{list.empty() ? "" : " "} + name(a);
      err = std::string{"placeholders among "} + list + " (got " + name(p)
            + ")";
      return false;
    }
    q.params.push_back(p);
    auto n = std::to_string(q.params.size());
    q.text += d == dialect::sqlite  ? "?" + n
              : d == dialect::pgsql ? "$" + n
                                    : std::string{"?"};
    return true;
  };
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    // Quoted literals and identifiers are copied as they are ('' and ""
    // escapes included: the scan resumes after the closing quote).
    if (c == '\'' || c == '"' || c == '`') {
      auto close = sql.find(c, i + 1);
      if (close == std::string_view::npos) {
        err = "an SQL query with its quotes closed";
        return std::nullopt;
      }
      // Dovecot writes '%u' (it splices escaped values): a quoted
      // placeholder here would be a literal that never matches.
      auto inside = sql.substr(i + 1, close - i - 1);
      if (c == '\'' && (inside == "%u" || inside == "%n" || inside == "%d"
                        || inside == "?"
                        || std::any_of(std::begin(names), std::end(names),
                                       [&](const named& n) {
                                         return inside.size() > 1
                                                && inside[0] == ':'
                                                && inside.substr(1) == n.text;
                                       }))) {
        err = "placeholders without quotes (" + std::string{inside}
              + ", not '" + std::string{inside}
              + "': values are bound, never put into the SQL text)";
        return std::nullopt;
      }
      q.text.append(sql.substr(i, close + 1 - i));
      i = close + 1;
      continue;
    }
    if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
      q.text += "::"; // a PostgreSQL cast
      i += 2;
      continue;
    }
    if (c == ':' && i + 1 < sql.size() && word_char(sql[i + 1])) {
      auto end = i + 1;
      while (end < sql.size() && word_char(sql[end]))
        ++end;
      auto word = sql.substr(i + 1, end - i - 1);
      auto hit = std::find_if(std::begin(names), std::end(names),
                              [&](const named& n) { return word == n.text; });
      if (hit == std::end(names)) {
        err = "placeholders :user :domain :jid :password :contact :group "
              "(got :" + std::string{word} + ")";
        return std::nullopt;
      }
      if (!emit(hit->p))
        return std::nullopt;
      i = end;
      continue;
    }
    if (c == '%' && i + 1 < sql.size()
        && (sql[i + 1] == 'u' || sql[i + 1] == 'n' || sql[i + 1] == 'd')
        && (i + 2 == sql.size() || !word_char(sql[i + 2]))) {
      // Dovecot: %u is the whole login name (user@domain).
      auto p = sql[i + 1] == 'u'   ? param::jid
               : sql[i + 1] == 'n' ? param::user
                                   : param::domain;
      if (!emit(p))
        return std::nullopt;
      i += 2;
      continue;
    }
    if (c == '?') {
      if (i + 1 < sql.size()
          && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
        err = "named placeholders (:user ...), not ?N";
        return std::nullopt;
      }
      if (next_default == defaults.size()) {
        err = "at most " + std::to_string(defaults.size())
              + " lone ? in this query (or named placeholders)";
        return std::nullopt;
      }
      if (!emit(defaults[next_default++]))
        return std::nullopt;
      ++i;
      continue;
    }
    if (c == '$' && d == dialect::pgsql && i + 1 < sql.size()
        && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      err = "named placeholders (:user ...), not $N";
      return std::nullopt;
    }
    q.text += c;
    ++i;
  }
  if (q.text.find_first_not_of(" \t\r\n;") == std::string::npos) {
    err = "an SQL query";
    return std::nullopt;
  }
  return q;
}

} // namespace dja::plugins::sql

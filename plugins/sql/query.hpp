#pragma once

// An operator's SQL query with its placeholders turned into the driver's
// positional parameters: values are ALWAYS bound, never spliced into the
// SQL text, so a user name or password cannot change what runs.
//
// Placeholders (outside quoted literals and identifiers):
//   :user :domain :jid :password :contact :group   named
//   ?                                              Openfire's lone `?`:
//                                                  the query's defaults,
//                                                  in order
//   %u (user@domain, as Dovecot) %n (user) %d (domain)
// PostgreSQL casts (`::text`) are left alone.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dja::plugins::sql {

/// The values a placeholder can stand for.
enum class param { user, domain, jid, password, contact, group };

/// The name of `p` (":user", ...).
const char* name(param p);

/// Positional parameter syntax of a driver.
enum class dialect {
  sqlite,  ///< ?1 ?2 ...
  pgsql,   ///< $1 $2 ...
  mariadb, ///< ? ? ...
};

/// A query ready to prepare: `text` in the driver's syntax, `params` the
/// value of each positional parameter in order.
struct query {
  std::string text;
  std::vector<param> params;
  bool empty() const {
    return text.empty();
  }
};

/// Compiles `sql`; a lone `?` takes the next of `defaults` (an error when
/// there is none left). Only `allowed` placeholders may appear. nullopt
/// with `err` saying what was expected.
std::optional<query> compile(std::string_view sql, dialect d,
                             const std::vector<param>& allowed,
                             const std::vector<param>& defaults,
                             std::string& err);

} // namespace dja::plugins::sql

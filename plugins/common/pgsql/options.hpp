#pragma once

// The options every *.pgsql plugin accepts (`dsn`, `query_timeout_ms`) and
// reading them into pgsql::settings.

#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "plugins/common/pgsql/connection.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::pgsql {

constexpr int64_t default_query_timeout_ms = 4000;

/// `dsn` (required, checked with libpq's parser before anything starts)
/// and `query_timeout_ms`, followed by the plugin's own options.
inline std::vector<option_spec> options(std::vector<option_spec> own = {}) {
  std::vector<option_spec> res{
    {"dsn", option_type::string, true,
     "libpq connection string, e.g. \"host=/run/postgresql dbname=xmpp\" or "
     "\"postgresql://user@host/db\"",
     [](const toml::node& v) { return check_dsn(v.value_or(std::string{})); }},
    {"query_timeout_ms", option_type::integer, false,
     "upper bound of one SQL statement (statement_timeout), 100..600000; "
     "keep it below timeout_ms (default 4000)",
     [](const toml::node& v) -> std::string {
       auto n = v.value_or(int64_t{0});
       return n >= 100 && n <= 600000 ? "" : "an integer in 100..600000";
     }},
  };
  for (auto& o : own)
    res.push_back(std::move(o));
  return res;
}

inline settings settings_of(const spawn_context& ctx, std::string tag) {
  settings s;
  s.dsn = ctx.options["dsn"].value_or(std::string{});
  s.tag = std::move(tag) + ": vhost " + ctx.domain;
  s.statement_timeout = std::chrono::milliseconds{
    ctx.options["query_timeout_ms"].value_or(default_query_timeout_ms)};
  return s;
}

} // namespace dja::plugins::pgsql

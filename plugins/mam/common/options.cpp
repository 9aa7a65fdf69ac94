// The options and manifest of the mam.* plugins (options.hpp).

#include "plugins/mam/common/options.hpp"

#include <algorithm>

#include "hooks/catalogue.hpp"

namespace dja::plugins::mam {

namespace {

std::function<std::string(const toml::node&)> in_range(int64_t lo,
                                                       int64_t hi) {
  return [lo, hi](const toml::node& v) -> std::string {
    auto n = v.value_or(int64_t{-1});
    if (n >= lo && n <= hi)
      return {};
    return "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  };
}

} // namespace

std::optional<int64_t> parse_age(const std::string& s) {
  if (s.empty() || s.size() > 12)
    return std::nullopt;
  size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9')
    ++n;
  if (n == 0 || n + 1 < s.size())
    return std::nullopt;
  int64_t v = std::stoll(s.substr(0, n));
  int64_t unit = 1;
  if (n < s.size()) {
    switch (s[n]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return std::nullopt;
    }
  }
  return v * unit;
}

std::vector<option_spec> option_specs() {
  return {
    {"batch_ms", option_type::integer, false,
     "archived messages are written together at most this long after the "
     "first of them, 1..10000 (default 50)",
     in_range(1, 10000)},
    {"batch_max", option_type::integer, false,
     "... or as soon as this many wait, 1..100000 (default 5000)",
     in_range(1, 100000)},
    {"max_backlog", option_type::integer, false,
     "messages waiting for the archive's writer at most, 1..10000000 "
     "(default 50000); past it a message is still delivered, but not "
     "archived: counted and logged (mam.sqlite, mam.pgsql)",
     in_range(1, 10000000)},
    {"default_page", option_type::integer, false,
     "results per page when a query gives no <max/>, 1..1000 (default 50)",
     in_range(1, 1000)},
    {"max_page", option_type::integer, false,
     "the largest page a query gets, 1..1000 (default 250)",
     in_range(1, 1000)},
    {"max_age", option_type::string, false,
     "messages older than this are removed: \"365d\", \"12h\", \"2w\", "
     "seconds (default: kept)",
     [](const toml::node& v) -> std::string {
       auto a = parse_age(v.value_or(std::string{}));
       return a && *a > 0 ? "" : "an age such as \"365d\", \"12h\" or \"30m\"";
     }},
    {"max_messages", option_type::integer, false,
     "per user: only the newest this many are kept (default 0: no quota)",
     in_range(0, int64_t{1} << 40)},
    {"prune_interval_s", option_type::integer, false,
     "how often max_age and max_messages are enforced, 1..604800 s "
     "(default 3600)",
     in_range(1, 604800)},
    {"default", option_type::string, false,
     "the preference of users who set none (XEP-0313 §6): \"always\" "
     "(default), \"roster\" or \"never\"",
     [](const toml::node& v) -> std::string {
       auto s = v.value_or(std::string{});
       return s == "always" || s == "roster" || s == "never"
                ? ""
                : "one of \"always\", \"roster\", \"never\"";
     }},
  };
}

settings settings_of(const spawn_context& ctx, const char*) {
  const auto& o = ctx.options;
  settings s;
  s.batch = std::chrono::milliseconds{o["batch_ms"].value_or(int64_t{50})};
  s.batch_max = o["batch_max"].value_or(int64_t{5000});
  s.max_backlog = o["max_backlog"].value_or(int64_t{50000});
  s.pages.default_page = o["default_page"].value_or(int64_t{50});
  s.pages.max_page = o["max_page"].value_or(int64_t{250});
  s.pages.default_page = std::min(s.pages.default_page, s.pages.max_page);
  if (auto age = o["max_age"].value<std::string>())
    s.max_age_us = parse_age(*age).value_or(0) * 1000000;
  s.max_messages = o["max_messages"].value_or(int64_t{0});
  s.prune_interval
    = std::chrono::seconds{o["prune_interval_s"].value_or(int64_t{3600})};
  s.default_prefs = o["default"].value_or(std::string{"always"});
  return s;
}

manifest mam_manifest() {
  manifest m{
    {hooks::id<hooks::archive_store>, hooks::id<hooks::archive_query>},
    {},
    {},
    {},
    {}};
  // XEP-0313 §7 on the accounts' bare JIDs (the user archives), with the
  // XEP-0359 §8 stanza ids the archive stamps.
  m.account_features = {"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended",
                        "urn:xmpp:sid:0"};
  return m;
}

} // namespace dja::plugins::mam

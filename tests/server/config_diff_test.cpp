#define CAF_SUITE server.config_diff

#include "server/config_diff.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <string>

using namespace dja::config;

namespace {

server_cfg parse(const std::string& text) {
  auto r = load_text(text, "test.toml");
  CAF_REQUIRE(r.ok());
  return r.cfg;
}

const std::string base = R"([server]
log_level = "info"
[[listen]]
kind = "c2s"
address = "127.0.0.1"
port = 5222
[limits]
max_resources = 10
[[vhost]]
domain = "a.test"
  [[vhost.plugin]]
  type = "ping"
[[vhost]]
domain = "b.test"
)";

std::string replaced(std::string text, const std::string& from,
                     const std::string& to) {
  auto i = text.find(from);
  CAF_REQUIRE(i != std::string::npos);
  return text.replace(i, from.size(), to);
}

bool has(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

CAF_TEST(the same configuration changes nothing) {
  auto a = parse(base);
  auto d = diff(a, parse(base));
  CAF_CHECK(d.nothing_to_apply());
  CAF_CHECK(d.restart.empty());
}

CAF_TEST(log level and limits are applied) {
  auto b = replaced(replaced(base, "\"info\"", "\"debug\""),
                    "max_resources = 10", "max_resources = 3");
  auto d = diff(parse(base), parse(b));
  CAF_CHECK(d.log_level);
  CAF_CHECK_EQUAL(d.limits, std::vector<std::string>{"limits.max_resources"});
  CAF_CHECK(d.restart.empty());
  CAF_CHECK(!d.nothing_to_apply());
}

CAF_TEST(vhosts added removed and changed) {
  auto b = replaced(base, "domain = \"b.test\"\n", "domain = \"c.test\"\n");
  b = replaced(b, "type = \"ping\"", "type = \"version\"");
  auto d = diff(parse(base), parse(b));
  CAF_CHECK_EQUAL(d.vhosts_added, std::vector<std::string>{"c.test"});
  CAF_CHECK_EQUAL(d.vhosts_removed, std::vector<std::string>{"b.test"});
  CAF_CHECK_EQUAL(d.vhosts_changed, std::vector<std::string>{"a.test"});
}

CAF_TEST(a plugin option change is a new chain) {
  auto with = [](const std::string& timeout) {
    return replaced(base, "type = \"ping\"",
                    "type = \"ping\"\n  timeout_ms = " + timeout);
  };
  auto d = diff(parse(with("100")), parse(with("200")));
  CAF_CHECK_EQUAL(d.vhosts_changed, std::vector<std::string>{"a.test"});
  CAF_CHECK(diff(parse(with("100")), parse(with("100"))).nothing_to_apply());
  auto e = diff(parse(base), parse(replaced(base, "domain = \"b.test\"\n",
                                            "domain = \"b.test\"\n"
                                            "default_plugins = false\n")));
  CAF_CHECK_EQUAL(e.vhosts_changed, std::vector<std::string>{"b.test"});
}

CAF_TEST(listeners and data_dir wait for a restart) {
  auto b = replaced(base, "port = 5222", "port = 5223");
  b = replaced(b, "log_level = \"info\"",
               "log_level = \"info\"\ndata_dir = \"elsewhere\"");
  auto before = parse(base);
  auto after = parse(b);
  auto d = diff(before, after);
  CAF_CHECK(d.nothing_to_apply());
  CAF_CHECK(has(d.restart, "listen"));
  CAF_CHECK(has(d.restart, "server.data_dir"));
  auto kept = applicable(before, after);
  CAF_CHECK_EQUAL(kept.listeners.front().port, 5222u);
  CAF_CHECK_EQUAL(kept.data_dir, before.data_dir);
}

CAF_TEST(applicable takes what a reload applies) {
  auto b = replaced(replaced(base, "\"info\"", "\"warn\""),
                    "max_resources = 10", "max_resources = 4");
  auto kept = applicable(parse(base), parse(b));
  CAF_CHECK_EQUAL(kept.log_level, "warn");
  CAF_CHECK_EQUAL(kept.limits.max_resources, 4u);
  CAF_CHECK_EQUAL(kept.vhosts.size(), 2u);
}

CAF_TEST(changed_limits names every differing key) {
  dja::limits a;
  auto b = a;
  b.c2s_stanza_size += 1;
  b.csi_queue += 1;
  b.resume_timeout += std::chrono::seconds(1);
  CAF_CHECK_EQUAL(changed_limits(a, b),
                  (std::vector<std::string>{"limits.c2s_stanza_size",
                                            "limits.resume_timeout",
                                            "limits.csi_queue"}));
}

#define CAF_SUITE server.config

#include "server/config.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hooks/catalogue.hpp"

using namespace dja::config;

namespace {

load_result load(std::string_view text) {
  return load_text(text, "test.toml");
}

/// Six lines: one listener (line 1) and one vhost (line 5, domain on 6).
const std::string minimal = "[[listen]]\n"
                            "kind = \"c2s\"\n"
                            "address = \"127.0.0.1\"\n"
                            "port = 5222\n"
                            "[[vhost]]\n"
                            "domain = \"localhost\"\n";

std::string all_errors(const load_result& r) {
  std::string res;
  for (auto& e : r.errors)
    res += e.to_string() + "\n";
  return res;
}

/// True if `r` has exactly one error and it is at `line` for `key`, with
/// `needle` in its text.
bool only_error(const load_result& r, int64_t line, const std::string& key,
                std::string_view needle = "") {
  if (r.errors.size() != 1) {
    CAF_MESSAGE("expected one error, got:\n" << all_errors(r));
    return false;
  }
  auto& e = r.errors.front();
  auto ok = e.file == "test.toml" && e.line == line && e.key == key
            && e.expected.find(needle) != std::string::npos;
  if (!ok)
    CAF_MESSAGE("unexpected error: " << e.to_string());
  return ok;
}

} // namespace

CAF_TEST(example config loads) {
  auto r = load(R"([server]
log_level = "info"        # trace | debug | info | warn | error
data_dir  = "data"

[[listen]]
kind    = "c2s"
address = "127.0.0.1"
port    = 5222

[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type  = "auth.static"
  users = { alice = "pw", bob = "pw", carol = "pw" }
)");
  CAF_REQUIRE_EQUAL(all_errors(r), "");
  CAF_REQUIRE(r.ok());
  auto& cfg = r.cfg;
  CAF_CHECK_EQUAL(cfg.file, "test.toml");
  CAF_CHECK_EQUAL(cfg.log_level, "info");
  CAF_CHECK_EQUAL(cfg.data_dir, "data");
  CAF_CHECK_EQUAL(cfg.max_stanza_size, 256u * 1024u);
  CAF_CHECK_EQUAL(cfg.negotiation_timeout.count(), 30);
  CAF_REQUIRE_EQUAL(cfg.listeners.size(), 1u);
  CAF_CHECK_EQUAL(cfg.listeners[0].kind, "c2s");
  CAF_CHECK_EQUAL(cfg.listeners[0].address, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.listeners[0].port, 5222u);
  CAF_CHECK_EQUAL(cfg.listeners[0].where, "test.toml:5");
  CAF_REQUIRE_EQUAL(cfg.vhosts.size(), 1u);
  auto& vh = cfg.vhosts[0];
  CAF_CHECK_EQUAL(vh.domain, "localhost");
  CAF_CHECK_EQUAL(vh.where, "test.toml:10");
  CAF_REQUIRE_EQUAL(vh.plugins.size(), 1u);
  auto& pc = vh.plugins[0];
  CAF_CHECK_EQUAL(pc.type, "auth.static");
  CAF_CHECK_EQUAL(pc.timeout.count(), 5000);
  CAF_CHECK_EQUAL(pc.where, "test.toml:12");
  CAF_CHECK_EQUAL(pc.options.size(), 1u);
  CAF_CHECK(!pc.options.contains("type"));
  auto users = pc.options["users"].as_table();
  CAF_REQUIRE(users != nullptr);
  CAF_CHECK_EQUAL(users->size(), 3u);
  CAF_CHECK_EQUAL((*users)["alice"].value_or(std::string{}), "pw");
  CAF_CHECK_EQUAL((*users)["carol"].value_or(std::string{}), "pw");
}

CAF_TEST(all settings) {
  auto r = load(R"([server]
log_level = "debug"
data_dir = "/tmp/dja-config-test"
max_stanza_size = 65536
negotiation_timeout = 10
[[listen]]
kind = "c2s"
address = "::1"
port = 0
[[listen]]
kind = "c2s"
address = "127.0.0.1"
port = 0
[[vhost]]
domain = "LocalHost."
[[vhost]]
domain = "example.com"
  [[vhost.plugin]]
  type = "auth.static"
  timeout_ms = 250
  users = {}
  [[vhost.plugin]]
  type = "auth.static"
  [vhost.plugin.users]
  "dave" = "x"
)");
  CAF_REQUIRE_EQUAL(all_errors(r), "");
  auto& cfg = r.cfg;
  CAF_CHECK_EQUAL(cfg.log_level, "debug");
  CAF_CHECK_EQUAL(cfg.data_dir, "/tmp/dja-config-test");
  CAF_CHECK_EQUAL(cfg.max_stanza_size, 65536u);
  CAF_CHECK_EQUAL(cfg.negotiation_timeout.count(), 10);
  CAF_REQUIRE_EQUAL(cfg.listeners.size(), 2u);
  CAF_CHECK_EQUAL(cfg.listeners[0].address, "::1");
  CAF_CHECK_EQUAL(cfg.listeners[0].port, 0u);
  CAF_REQUIRE_EQUAL(cfg.vhosts.size(), 2u);
  CAF_CHECK_EQUAL(cfg.vhosts[0].domain, "localhost");
  CAF_CHECK(cfg.vhosts[0].plugins.empty());
  auto& ps = cfg.vhosts[1].plugins;
  CAF_REQUIRE_EQUAL(ps.size(), 2u);
  CAF_CHECK_EQUAL(ps[0].timeout.count(), 250);
  CAF_CHECK(!ps[0].options.contains("timeout_ms"));
  CAF_CHECK_EQUAL(ps[1].options["users"]["dave"].value_or(std::string{}),
                  "x");
}

CAF_TEST(unknown top-level key) {
  auto r = load("foo = 1\n" + minimal);
  CAF_CHECK(only_error(r, 1, "foo", "server, listen, vhost"));
  r = load(minimal + "[vhosts]\n");
  CAF_CHECK(only_error(r, 7, "vhosts"));
}

CAF_TEST(limits) {
  auto r = load(minimal);
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(r.cfg.limits.c2s_stanza_size, 256u * 1024u);
  CAF_CHECK_EQUAL(r.cfg.limits.max_resources, 100u);
  r = load("[server]\nmax_stanza_size = 65536\n" + minimal);
  CAF_CHECK_EQUAL(r.cfg.limits.c2s_stanza_size, 65536u);
  r = load("[server]\nmax_stanza_size = 65536\n[limits]\n"
           "c2s_stanza_size = 2048\nmax_resources = 3\nc2s_idle_timeout = 60\n"
           + minimal);
  CAF_REQUIRE_EQUAL(all_errors(r), "");
  CAF_CHECK_EQUAL(r.cfg.limits.c2s_stanza_size, 2048u);
  CAF_CHECK_EQUAL(r.cfg.limits.max_resources, 3u);
  CAF_CHECK_EQUAL(r.cfg.limits.c2s_idle_timeout.count(), 60);
  r = load("[limits]\nmax_resourcez = 3\n" + minimal);
  CAF_CHECK(only_error(r, 2, "limits.max_resourcez", "max_resources"));
  r = load("[limits]\nwrite_buffer = 10\n" + minimal);
  CAF_CHECK(only_error(r, 2, "limits.write_buffer", "16384.."));
  r = load("[limits]\nmax_resources = \"many\"\n" + minimal);
  CAF_CHECK(only_error(r, 2, "limits.max_resources", "an integer"));
  r = load("limits = 3\n" + minimal);
  CAF_CHECK(only_error(r, 1, "limits", "a table"));
}

CAF_TEST(stream management keys) {
  // XEP-0198: on by default, resumption for 300 s, 5000 unacked.
  auto r = load(minimal);
  CAF_REQUIRE(r.ok());
  CAF_CHECK(r.cfg.listeners.at(0).stream_management);
  CAF_CHECK_EQUAL(r.cfg.limits.resume_timeout.count(), 300);
  CAF_CHECK_EQUAL(r.cfg.limits.max_unacked, 5000u);
  r = load("[limits]\nresume_timeout = 0\nmax_unacked = 10\n" + minimal);
  CAF_REQUIRE_EQUAL(all_errors(r), "");
  CAF_CHECK_EQUAL(r.cfg.limits.resume_timeout.count(), 0);
  CAF_CHECK_EQUAL(r.cfg.limits.max_unacked, 10u);
  r = load("[limits]\nmax_unacked = 0\n" + minimal);
  CAF_CHECK(only_error(r, 2, "limits.max_unacked", "1.."));
  r = load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
           "port = 5222\nstream_management = false\n"
           "[[vhost]]\ndomain = \"localhost\"\n");
  CAF_REQUIRE_EQUAL(all_errors(r), "");
  CAF_CHECK(!r.cfg.listeners.at(0).stream_management);
  r = load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
           "port = 5222\nstream_management = \"yes\"\n"
           "[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 5, "listen[0].stream_management", "a boolean"));
}

CAF_TEST(unknown server key) {
  auto r = load("[server]\nlog_lvl = \"info\"\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.log_lvl", "log_level"));
}

CAF_TEST(bad server values) {
  auto r = load("[server]\nlog_level = \"verbose\"\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.log_level",
                       "one of trace, debug, info, warn, error"));
  r = load("[server]\nlog_level = 3\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.log_level", "one of trace"));
  r = load("[server]\nmax_stanza_size = 100\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.max_stanza_size", "1024..67108864"));
  r = load("[server]\nnegotiation_timeout = \"30s\"\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.negotiation_timeout", "an integer"));
  r = load("[server]\ndata_dir = 1\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.data_dir", "string"));
  r = load("server = 1\n" + minimal);
  CAF_CHECK(only_error(r, 1, "server", "a table"));
}

CAF_TEST(control socket) {
  // Unset: DATA_DIR/control.sock; "": none; a path as given.
  auto r = load("[server]\ndata_dir = \"/var/lib/x\"\n" + minimal);
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(control_socket_path(r.cfg), "/var/lib/x/control.sock");
  r = load("[server]\ncontrol_socket = \"\"\n" + minimal);
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(control_socket_path(r.cfg), "");
  r = load("[server]\ncontrol_socket = \"/run/x/ctl.sock\"\n" + minimal);
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(control_socket_path(r.cfg), "/run/x/ctl.sock");
  CAF_CHECK_EQUAL(r.cfg.control_socket_line, 2);
  r = load("[server]\ncontrol_socket = 1\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.control_socket", "a string"));
  r = load("[server]\ncontrol_socket = \"/" + std::string(120, 'x')
           + "\"\n" + minimal);
  CAF_CHECK(only_error(r, 2, "server.control_socket",
                       "a path of at most 107 bytes"));
}

CAF_TEST(wrong type for port) {
  auto r = load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
                "port = \"5222\"\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 4, "listen[0].port", "an integer"));
  r = load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
           "port = 65536\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 4, "listen[0].port", "0..65535"));
}

CAF_TEST(bad listener) {
  auto r = load("[[listen]]\nkind = \"c2s\"\naddress = \"localhost\"\n"
                "port = 5222\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 3, "listen[0].address", "IPv4 or IPv6"));
  r = load("[[listen]]\nkind = \"s3s\"\naddress = \"127.0.0.1\"\n"
           "port = 5222\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 2, "listen[0].kind", "c2s"));
  r = load("[[listen]]\naddress = \"127.0.0.1\"\n"
           "port = 5222\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 1, "listen[0].kind", "required"));
  r = load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
           "port = 5222\nbacklog = 5\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 5, "listen[0].backlog", "kind, address, port"));
  r = load("[listen]\nkind = \"c2s\"\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 1, "listen", "array of tables"));
  // The same address twice (also when spelled differently).
  r = load(minimal + "[[listen]]\nkind = \"c2s\"\naddress = \"::1\"\n"
                     "port = 5222\n[[listen]]\nkind = \"c2s\"\n"
                     "address = \"0::1\"\nport = 5222\n");
  CAF_CHECK(only_error(r, 11, "listen[2]", "listen[1] at test.toml:7"));
}

CAF_TEST(sasl_channel_binding modes) {
  auto with = [](const std::string& value) {
    return load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
                "port = 5222\nsasl_channel_binding = " + value
                + "\n[[vhost]]\ndomain = \"localhost\"\n");
  };
  auto mode = [&](const std::string& value) {
    auto r = with(value);
    return r.errors.empty() ? r.cfg.listeners.at(0).sasl_channel_binding
                            : "error";
  };
  // Default: -PLUS over TLS 1.2 only (config.hpp says why).
  CAF_CHECK_EQUAL(load(minimal).cfg.listeners.at(0).sasl_channel_binding,
                  "tls1.2");
  CAF_CHECK_EQUAL(mode("true"), "always");
  CAF_CHECK_EQUAL(mode("false"), "off");
  CAF_CHECK_EQUAL(mode("\"always\""), "always");
  CAF_CHECK_EQUAL(mode("\"tls1.2\""), "tls1.2");
  CAF_CHECK_EQUAL(mode("\"off\""), "off");
  CAF_CHECK(only_error(with("\"yes\""), 5, "listen[0].sasl_channel_binding",
                       "a boolean or one of"));
}

CAF_TEST(missing listen or vhost) {
  auto r = load("[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 1, "listen", "at least one [[listen]]"));
  r = load("[server]\nlog_level = \"info\"\n[[vhost]]\n"
           "domain = \"localhost\"\nlisten = []\n");
  // A key after [[vhost]] belongs to the vhost.
  CAF_REQUIRE_EQUAL(r.errors.size(), 2u);
  CAF_CHECK_EQUAL(r.errors[0].key, "listen");
  CAF_CHECK_EQUAL(r.errors[1].key, "vhost[0].listen");
  CAF_CHECK_EQUAL(r.errors[1].line, 5);
  r = load("listen = []\n[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 1, "listen", "at least one [[listen]]"));
  r = load(minimal.substr(0, minimal.find("[[vhost]]")));
  CAF_CHECK(only_error(r, 1, "vhost", "at least one [[vhost]]"));
  r = load("");
  CAF_CHECK_EQUAL(r.errors.size(), 2u);
}

CAF_TEST(bad vhost) {
  auto r = load(minimal + "[[vhost]]\ndomain = \"exa mple.com\"\n");
  CAF_CHECK(only_error(r, 8, "vhost[1].domain", "domain"));
  r = load(minimal + "[[vhost]]\n");
  CAF_CHECK(only_error(r, 7, "vhost[1].domain", "required"));
  r = load(minimal + "[[vhost]]\ndomain = \"a.example\"\nname = \"A\"\n");
  CAF_CHECK(only_error(r, 9, "vhost[1].name", "domain, plugin"));
}

CAF_TEST(duplicate domain) {
  // Compared after preparation: case and the trailing dot do not matter.
  auto r = load(minimal + "[[vhost]]\ndomain = \"LOCALHOST.\"\n");
  CAF_CHECK(only_error(r, 8, "vhost[1].domain",
                       "\"localhost\" is also vhost[0].domain at test.toml:6"));
}

CAF_TEST(unknown plugin type) {
  auto r = load(minimal + "[[vhost.plugin]]\ntype = \"auth.nope\"\n");
  CAF_CHECK(only_error(r, 8, "vhost[0].plugin[0].type", "auth.static"));
  r = load(minimal + "[[vhost.plugin]]\nusers = {}\n");
  CAF_CHECK(only_error(r, 7, "vhost[0].plugin[0].type", "required"));
}

CAF_TEST(unknown plugin option) {
  auto r = load(minimal + "[[vhost.plugin]]\ntype = \"auth.static\"\n"
                          "users = { a = \"b\" }\nuserz = 1\n");
  CAF_CHECK(only_error(r, 10, "vhost[0].plugin[0].userz",
                       "type, library, timeout_ms, hooks, users"));
}

CAF_TEST(plugin hooks are named by the catalogue) {
  auto base = minimal + "[[vhost.plugin]]\ntype = \"auth.static\"\n"
                        "users = { a = \"b\" }\n";
  auto r = load(base + "hooks = [\"auth.check_password\"]\n");
  CAF_REQUIRE(r.errors.empty());
  CAF_REQUIRE_EQUAL(r.cfg.vhosts[0].plugins[0].only_hooks.size(), 1u);
  CAF_CHECK(r.cfg.vhosts[0].plugins[0].only_hooks[0]
            == dja::hooks::id<dja::hooks::auth_check_password>);
  CAF_MESSAGE("a misspelled hook is an error, not a hook never called");
  r = load(base + "hooks = [\"auth.check_pasword\"]\n");
  CAF_CHECK(only_error(r, 10, "vhost[0].plugin[0].hooks[0]",
                       "a hook name, one of auth.check_password"));
  CAF_MESSAGE("a hook the type does not serve is an error too");
  r = load(base + "hooks = [\"auth.check_password\", \"roster.get\"]\n");
  CAF_CHECK(only_error(r, 10, "vhost[0].plugin[0].hooks[1]",
                       "a hook auth.static serves (auth.check_password"));
  r = load(base + "hooks = \"roster.get\"\n");
  CAF_CHECK(only_error(r, 10, "vhost[0].plugin[0].hooks",
                       "an array of hook names"));
}

CAF_TEST(wrong plugin option type) {
  auto r = load(minimal + "[[vhost.plugin]]\ntype = \"auth.static\"\n"
                          "users = [\"alice\"]\n");
  CAF_CHECK(only_error(r, 9, "vhost[0].plugin[0].users",
                       "a table of strings"));
  r = load(minimal + "[[vhost.plugin]]\ntype = \"auth.static\"\n"
                     "users = { alice = \"pw\", bob = 1 }\n");
  CAF_CHECK(only_error(r, 9, "vhost[0].plugin[0].users.bob",
                       "table of strings"));
  r = load(minimal + "[[vhost.plugin]]\ntype = \"auth.static\"\n"
                     "users = {}\ntimeout_ms = 0\n");
  CAF_CHECK(only_error(r, 10, "vhost[0].plugin[0].timeout_ms", "1..600000"));
}

CAF_TEST(missing plugin option) {
  auto r = load(minimal + "[[vhost.plugin]]\ntype = \"auth.static\"\n"
                          "[[vhost.plugin]]\ntype = \"auth.static\"\n");
  CAF_REQUIRE_EQUAL(r.errors.size(), 2u);
  CAF_CHECK_EQUAL(r.errors[0].line, 7);
  CAF_CHECK_EQUAL(r.errors[0].key, "vhost[0].plugin[0].users");
  CAF_CHECK_EQUAL(r.errors[1].line, 9);
  CAF_CHECK_EQUAL(r.errors[1].key, "vhost[0].plugin[1].users");
  CAF_CHECK_EQUAL(r.errors[1].expected,
                  "a table of strings (required by auth.static)");
}

CAF_TEST(toml syntax error) {
  auto r = load("[server]\nlog_level = \n" + minimal);
  CAF_CHECK(only_error(r, 2, "", "valid TOML"));
  r = load(minimal + "[[vhost]]\ndomain = \"a\"\ndomain = \"b\"\n");
  CAF_CHECK(only_error(r, 9, "", "valid TOML"));
}

CAF_TEST(all errors are collected in line order) {
  auto r = load(R"(bogus = true
[server]
log_level = "loud"
[[listen]]
kind = "c2s"
address = "1.2.3"
port = -1
[[vhost]]
domain = "localhost"
  [[vhost.plugin]]
  type = "auth.static"
  users = 5
)");
  CAF_REQUIRE_EQUAL(r.errors.size(), 5u);
  CAF_CHECK_EQUAL(r.errors[0].to_string(),
                  "test.toml:1: bogus: one of the top-level keys server, "
                  "listen, vhost, s2s_route, cluster, limits");
  CAF_CHECK_EQUAL(r.errors[1].to_string(),
                  "test.toml:3: server.log_level: one of trace, debug, info, "
                  "warn, error (got the string \"loud\")");
  CAF_CHECK_EQUAL(r.errors[2].key, "listen[0].address");
  CAF_CHECK_EQUAL(r.errors[2].line, 6);
  CAF_CHECK_EQUAL(r.errors[3].to_string(),
                  "test.toml:7: listen[0].port: an integer (0 = ephemeral) "
                  "in 0..65535 (got -1)");
  CAF_CHECK_EQUAL(r.errors[4].to_string(),
                  "test.toml:12: vhost[0].plugin[0].users: a table of "
                  "strings (got 5)");
}

CAF_TEST(missing file) {
  auto r = load_file("/nonexistent/dja.toml");
  CAF_REQUIRE_EQUAL(r.errors.size(), 1u);
  CAF_CHECK_EQUAL(r.errors[0].line, 0);
  CAF_CHECK_EQUAL(r.errors[0].file, "/nonexistent/dja.toml");
  CAF_CHECK_EQUAL(r.errors[0].to_string().rfind("/nonexistent/dja.toml:0: ",
                                                0),
                  0u);
  r = load_file("/");
  CAF_CHECK_EQUAL(r.errors.size(), 1u);
}

namespace {

/// Writes a fresh self-signed certificate and its key (PEM) to the files.
void make_cert(const std::string& crt, const std::string& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("t"), -1,
                             -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, pkey, EVP_sha256());
  auto f = std::fopen(crt.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

std::string tls_vhost(const std::string& crt, const std::string& key) {
  return "[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\nport = 5222\n"
         "[[vhost]]\ndomain = \"localhost\"\ntls_cert = \""
         + crt + "\"\ntls_key = \"" + key + "\"\n";
}

} // namespace

CAF_TEST(certificates are checked) {
  auto dir = std::filesystem::temp_directory_path() / "dja-config-test-tls";
  std::filesystem::create_directories(dir);
  auto a_crt = (dir / "a.crt").string(), a_key = (dir / "a.key").string();
  auto b_crt = (dir / "b.crt").string(), b_key = (dir / "b.key").string();
  auto junk = (dir / "junk.pem").string();
  make_cert(a_crt, a_key);
  make_cert(b_crt, b_key);
  std::ofstream{junk} << "-----BEGIN CERTIFICATE-----\nnot base64\n";
  CAF_CHECK_EQUAL(all_errors(load(tls_vhost(a_crt, a_key))), "");
  // Line 7: tls_cert, line 8: tls_key.
  CAF_CHECK(only_error(load(tls_vhost(a_crt, b_key)), 8, "vhost[0].tls_key",
                       "does not belong"));
  CAF_CHECK(only_error(load(tls_vhost(junk, a_key)), 7, "vhost[0].tls_cert",
                       "a PEM certificate"));
  CAF_CHECK(only_error(load(tls_vhost(a_crt, junk)), 8, "vhost[0].tls_key",
                       "a PEM private key"));
  std::filesystem::remove_all(dir);
}

CAF_TEST(data_dir must be creatable) {
  auto file = std::filesystem::temp_directory_path() / "dja-config-test-file";
  std::ofstream{file} << "x";
  auto r = load("[server]\ndata_dir = \"" + (file / "data").string() + "\"\n"
                + minimal);
  CAF_CHECK(only_error(r, 2, "server.data_dir", "not a directory"));
  std::filesystem::remove(file);
}

CAF_TEST(a listener that needs TLS without certificates) {
  auto r = load("[[listen]]\nkind = \"c2s\"\naddress = \"127.0.0.1\"\n"
                "port = 5222\n[[listen]]\nkind = \"c2s_tls\"\n"
                "address = \"127.0.0.1\"\nport = 5223\n"
                "[[vhost]]\ndomain = \"localhost\"\n");
  CAF_CHECK(only_error(r, 5, "listen[1]", "tls_cert"));
}

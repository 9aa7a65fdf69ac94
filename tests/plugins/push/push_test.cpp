#define CAF_SUITE plugins.push

// XEP-0357 push notifications (plugins/push): the pure parts (which
// messages wake a device, the <enable/> and the §7 notification), then
// push.memory and push.sqlite behind a real vhost (auth.static for the
// accounts): enable/disable and their errors, `push.wake` making one
// notification per burst routed through the router it names (this test
// stands in for the router shard), a session's wake reaching only its
// own device's registrations, an app server error disabling the
// registration, and the registrations surviving a restart (SQLite).
// The SQLite plugin is detached: a real actor_system and a
// scoped_actor, as tests/plugins/vcard_private_last_test.cpp.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <filesystem>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/messages.hpp"
#include "common/stored_xml.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/push/notification.hpp"
#include "server/config.hpp"
#include "server/registry.hpp"
#include "server/server.hpp"
#include "vhost/vhost.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace push = dja::plugins::push;

namespace {

jid J(const char* s) {
  return *jid::parse(s);
}

xml::element_ptr X(const std::string& s) {
  auto e = xml::parse_stored(s);
  CAF_REQUIRE(e != nullptr);
  return e;
}

std::string condition(const xml::element& reply) {
  if (reply.attr_or("type") != "error")
    return "";
  auto err = reply.child("error");
  return err && err->first_element() ? err->first_element()->name : "?";
}

/// The value of field `var` of the notification's summary form.
std::string field(const xml::element& iq, const char* var) {
  auto* ps = iq.child("pubsub", push::ns_pubsub);
  auto* pub = ps ? ps->child("publish", push::ns_pubsub) : nullptr;
  auto* item = pub ? pub->child("item", push::ns_pubsub) : nullptr;
  auto* n = item ? item->child("notification", push::ns_push) : nullptr;
  auto* x = n ? n->child("x", push::ns_data) : nullptr;
  if (x == nullptr)
    return "<no form>";
  for (auto* f : x->elements())
    if (f->attr_or("var") == var)
      return f->child("value") ? f->child("value")->text() : "";
  return "<absent>";
}

constexpr const char* phone = "alice@localhost/phone";
constexpr const char* laptop = "alice@localhost/laptop";
constexpr const char* app = "app@push.example/srv";

const std::string enable_app
  = std::string{"<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' "}
    + "jid='" + app + "' node='n1'><x xmlns='jabber:x:data' "
    + "type='submit'><field var='FORM_TYPE'><value>http://jabber.org/"
      "protocol/pubsub#publish-options</value></field><field "
      "var='secret'><value>s3</value></field></x></enable></iq>";

xml::element_ptr chat(const char* body) {
  return X(std::string{"<message xmlns='jabber:client' type='chat' "
                       "from='bob@localhost/desk' to='"}
           + phone + "'><body>" + body + "</body></message>");
}

struct fixture {
  std::string backend;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  caf::actor vh;
  int64_t burst_s = 0;

  explicit fixture(std::string b) : backend(std::move(b)) {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/push_test.XXXXXX";
    dir = mkdtemp(tmpl);
  }

  ~fixture() {
    stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void start() {
    config::vhost_cfg v;
    v.domain = "localhost";
    config::plugin_cfg auth;
    auth.type = "auth.static";
    toml::table users;
    users.insert("alice", "pw");
    auth.options.insert("users", users);
    config::plugin_cfg p;
    p.type = "push." + backend;
    p.options.insert("burst_s", burst_s);
    p.options.insert("max_registrations", 2);
    v.plugins = {auth, p};
    vh = spawn_vhost(sys, v.domain, make_plugins(v, dir.string()));
  }

  void stop() {
    if (!vh)
      return;
    self->monitor(vh);
    self->send(vh, shutdown_atom::value);
    self->receive([](const caf::down_msg&) {});
    vh = nullptr;
  }

  xml::element_ptr ask(const char* from, const char* to,
                       const std::string& iq) {
    auto e = std::make_shared<xml::element>(*X(iq));
    e->set_attr("from", from);
    xml::element_ptr reply;
    self->request(vh, 30s, hooks::iq_request{e, J(from), J(to)})
      .receive([&](xml::element_ptr& r) { reply = std::move(r); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    CAF_REQUIRE(reply != nullptr);
    return reply;
  }

  /// `push.wake` for `to` with this test as the router: the notification
  /// routed, or null when none comes within 300 ms.
  xml::element_ptr wake(const char* to, xml::element_ptr m) {
    router_ref r;
    r.shards = {caf::actor_cast<caf::actor>(self)};
    self->send(vh, hooks::push_wake{std::move(m), J(to), r});
    xml::element_ptr out;
    self->receive([&](msg::route& rt) { out = rt.stanza; },
                  caf::after(300ms) >> [] {});
    return out;
  }

  /// The app server's answer to notification `n`.
  void answer(const xml::element& n, const std::string& payload) {
    auto e = X("<iq xmlns='jabber:client' type='error' id='"
               + n.attr_or("id") + "' from='" + app
               + "' to='alice@localhost'>" + payload + "</iq>");
    caf::anon_send(vh, hooks::iq_request{e, J(app), J("alice@localhost")});
  }

  void run_checks() {
    start();
    auto r = ask(phone, "alice@localhost", enable_app);
    CAF_CHECK_EQUAL(r->attr_or("type"), "result");
    CAF_CHECK_EQUAL(condition(*ask(phone, "alice@localhost",
                                   "<iq type='set' id='b'><enable "
                                   "xmlns='urn:xmpp:push:0'/></iq>")),
                    "bad-request");
    CAF_CHECK_EQUAL(condition(*ask(phone, "bob@localhost", enable_app)),
                    "forbidden");
    // Another device's session wakes nobody; the phone's does.
    CAF_CHECK(wake(laptop, chat("x")) == nullptr);
    auto n = wake(phone, chat("hello"));
    CAF_REQUIRE(n != nullptr);
    CAF_CHECK_EQUAL(n->attr_or("to"), app);
    CAF_CHECK_EQUAL(n->attr_or("from"), "alice@localhost");
    CAF_CHECK_EQUAL(field(*n, "message-count"), "1");
    CAF_CHECK_EQUAL(field(*n, "last-message-sender"),
                    "bob@localhost/desk");
    CAF_CHECK_EQUAL(field(*n, "last-message-body"), "<absent>");
    CAF_CHECK(n->child("pubsub", push::ns_pubsub)
                ->child("publish-options", push::ns_pubsub)
              != nullptr);
    // A stored message (bare JID) wakes every registration.
    CAF_CHECK(wake("alice@localhost", chat("offline")) != nullptr);
    // A temporary error keeps the registration, another disables it.
    answer(*n, "<error type='wait'><resource-constraint xmlns='urn:ietf:"
               "params:xml:ns:xmpp-stanzas'/></error>");
    auto n2 = wake(phone, chat("again"));
    CAF_REQUIRE(n2 != nullptr);
    // The registrations survive a restart (the memory store: nothing).
    if (backend == "sqlite") {
      stop();
      start();
      n2 = wake(phone, chat("after restart"));
      CAF_REQUIRE(n2 != nullptr);
    }
    answer(*n2, "<error type='cancel'><item-not-found xmlns='urn:ietf:"
                "params:xml:ns:xmpp-stanzas'/></error>");
    CAF_CHECK(wake(phone, chat("gone")) == nullptr);
    // Disable: one node, then every node of an app server.
    ask(phone, "alice@localhost", enable_app);
    CAF_CHECK_EQUAL(ask(phone, "alice@localhost",
                        std::string{"<iq type='set' id='d'><disable "
                                    "xmlns='urn:xmpp:push:0' jid='"}
                          + app + "'/></iq>")
                      ->attr_or("type"),
                    "result");
    CAF_CHECK(wake(phone, chat("disabled")) == nullptr);
  }
};

} // namespace

CAF_TEST(which messages wake a device) {
  CAF_CHECK(push::worth_waking(*chat("hi")) != nullptr);
  CAF_CHECK(push::worth_waking(*X(
              "<message xmlns='jabber:client'><composing xmlns='http://"
              "jabber.org/protocol/chatstates'/></message>"))
            == nullptr);
  CAF_CHECK(push::worth_waking(*X(
              "<message xmlns='jabber:client'><encrypted xmlns='eu.siacs."
              "conversations.axolotl'/></message>"))
            != nullptr);
  CAF_CHECK(push::worth_waking(*X("<message xmlns='jabber:client' "
                                  "type='error'><body>x</body></message>"))
            == nullptr);
  auto carbon = [](const char* dir) {
    return X(std::string{"<message xmlns='jabber:client'><"} + dir
             + " xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:"
               "forward:0'><message xmlns='jabber:client' from='b@x/y'>"
               "<body>hi</body></message></forwarded></"
             + dir + "></message>");
  };
  auto received = carbon("received"); // m points into it
  auto m = push::worth_waking(*received);
  CAF_REQUIRE(m != nullptr);
  CAF_CHECK_EQUAL(m->attr_or("from"), "b@x/y");
  CAF_CHECK(push::worth_waking(*carbon("sent")) == nullptr);
}

CAF_TEST(enable requests and the notification) {
  auto iq = X(enable_app); // keeps the element alive
  auto e = iq->first_element();
  auto p = push::parse_enable(*e, "phone");
  CAF_REQUIRE(p.reg.has_value());
  CAF_CHECK_EQUAL(p.reg->node, "n1");
  auto again = push::parse_stored(*X(xml::to_string(p.reg->to_xml())));
  CAF_REQUIRE(again.has_value());
  CAF_CHECK_EQUAL(again->resource, "phone");
  CAF_CHECK(again->options != nullptr);
  CAF_CHECK_EQUAL(push::app_of_key(again->key()), app);
  auto bad = X("<enable xmlns='urn:xmpp:push:0' jid='a@b'><x xmlns='jabber:"
               "x:data'><field var='FORM_TYPE'><value>urn:x</value></field>"
               "</x></enable>");
  CAF_CHECK_EQUAL(push::parse_enable(*bad, "r").error,
                  std::string{"bad-request"});
  auto n = push::notification(*p.reg, J("alice@localhost"), "id1",
                              push::summary{3, "", "text"});
  CAF_CHECK_EQUAL(field(*n, "message-count"), "3");
  CAF_CHECK_EQUAL(field(*n, "last-message-sender"), "<absent>");
  CAF_CHECK_EQUAL(field(*n, "last-message-body"), "text");
}

CAF_TEST(push.memory) {
  fixture f{"memory"};
  f.run_checks();
}

CAF_TEST(push.sqlite) {
  fixture f{"sqlite"};
  f.run_checks();
}

CAF_TEST(one notification per burst) {
  fixture f{"memory"};
  f.burst_s = 3600;
  f.start();
  f.ask(phone, "alice@localhost", enable_app);
  CAF_CHECK(f.wake(phone, chat("1")) != nullptr);
  CAF_CHECK(f.wake(phone, chat("2")) == nullptr);
  CAF_CHECK(f.wake("alice@localhost", chat("3")) == nullptr);
}

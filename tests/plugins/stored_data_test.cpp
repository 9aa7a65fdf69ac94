#define CAF_SUITE plugins.stored_data

// Data files stay readable: tests/data/stored/ holds SQLite files written
// by an earlier release (offline.sqlite, vcards.sqlite, private.sqlite,
// last.sqlite: offline messages, a vCard with a photo, private XML, a
// last logout). This test copies them into a temporary data_dir, starts a
// vhost with the SQLite plugins over them and reads the same data back.
//
// The files were written by this test itself with DJA_WRITE_STORED_DATA=DIR
// set (the `write` case below), at the commit that added them; the case
// is kept so that the files can be written again for a new format, never
// to be run over the committed ones.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/messages.hpp"
#include "common/stored_xml.hpp"
#include "common/xml.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"
#include "server/config.hpp"
#include "server/server.hpp"
#include "vhost/vhost.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// tests/data/stored. __FILE__ is relative to the directory the test was
/// compiled in (ccache's base_dir), the one of the test binary.
fs::path data_dir() {
  fs::path src{__FILE__};
  if (src.is_relative())
    src = fs::canonical("/proc/self/exe").parent_path() / src;
  return src.parent_path().parent_path() / "data" / "stored";
}

jid J(const char* s) {
  return *jid::parse(s);
}

xml::element_ptr X(const std::string& text) {
  auto e = xml::parse_stored(text);
  CAF_REQUIRE(e != nullptr);
  return e;
}

/// 300 bytes of "image" (every byte value), as in the stored vCard.
std::string photo_bytes() {
  std::string s;
  for (int i = 0; i < 300; ++i)
    s.push_back(static_cast<char>(i % 256));
  return s;
}

const std::string fn = "Alice \xc3\x84rger \xe2\x9c\x93"; // UTF-8

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  caf::actor vh;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/stored_data_test.XXXXXX";
    dir = mkdtemp(tmpl);
  }

  ~fixture() {
    stop();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void start(const fs::path& data) {
    config::vhost_cfg v;
    v.domain = "localhost";
    config::plugin_cfg auth;
    auth.type = "auth.static";
    toml::table users;
    users.insert("alice", "pw");
    users.insert("bob", "pw");
    auth.options.insert("users", users);
    config::plugin_cfg offline;
    offline.type = "offline.sqlite";
    config::plugin_cfg vcard;
    vcard.type = "vcard.sqlite";
    config::plugin_cfg priv;
    priv.type = "private.sqlite";
    config::plugin_cfg last;
    last.type = "last";
    last.options.insert("file", "last.sqlite");
    v.plugins = {auth, offline, vcard, priv, last};
    vh = spawn_vhost(sys, v.domain, make_plugins(v, data.string()));
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
    CAF_CHECK_EQUAL(reply->attr_or("type"), "result");
    return reply;
  }

  void deliver(const std::string& msg, const char* to) {
    self->request(vh, 30s, hooks::deliver{X(msg), J(to)})
      .receive([&](hooks::delivery_verdict& v) { CAF_CHECK(v.taken); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  }
};

const std::string msg1
  = "<message from='bob@localhost/work' to='alice@localhost' type='chat' "
    "id='m1'><body>first &amp; &lt;second&gt;</body></message>";
const std::string msg2
  = "<message from='bob@localhost/work' to='alice@localhost' id='m2'>"
    "<subject>S</subject><body>h\xc3\xa9llo \xe2\x9c\x93</body>"
    "<x xmlns='urn:example:x' a='1'><y/></x></message>";

std::string vcard_set() {
  return "<iq type='set' id='v'><vCard xmlns='vcard-temp'><FN>" + fn
         + "</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>"
         + base64::encode(photo_bytes())
         + "</BINVAL></PHOTO></vCard></iq>";
}

const std::string private_set
  = "<iq type='set' id='p'><query xmlns='jabber:iq:private'>"
    "<storage xmlns='storage:bookmarks'><conference jid='room@conf' "
    "autojoin='true' name='R'><nick>al</nick></conference></storage>"
    "<prefs xmlns='urn:example:prefs'><v>1</v></prefs></query></iq>";

} // namespace

CAF_TEST_FIXTURE_SCOPE(stored_data, fixture)

CAF_TEST(write) {
  auto out = getenv("DJA_WRITE_STORED_DATA");
  if (out == nullptr)
    return; // only on request, see the top of the file
  fs::create_directories(out);
  start(out);
  deliver(msg1, "alice@localhost");
  deliver(msg2, "alice@localhost");
  ask("alice@localhost/home", "alice@localhost", vcard_set());
  ask("alice@localhost/home", "alice@localhost", private_set);
  auto a = J("alice@localhost/home");
  self->send(vh, hooks::session_bound{a, caf::actor{}, "127.0.0.1"});
  self->send(vh, hooks::session_closed{a, "closed", "Gone fishing"});
  // The last answer comes after the logout was recorded (one actor).
  ask("alice@localhost/home", "alice@localhost",
      "<iq type='get' id='l'><query xmlns='jabber:iq:last'/></iq>");
  stop();
}

CAF_TEST(the files of an earlier release are read back) {
  auto data = data_dir();
  CAF_REQUIRE(fs::exists(data / "offline.sqlite"));
  for (auto& f : fs::directory_iterator(data))
    fs::copy_file(f.path(), dir / f.path().filename());
  start(dir);
  // Offline messages, in order, as they were sent (plus the delay stamp).
  std::vector<hooks::offline_message> msgs;
  self->request(vh, 30s, hooks::offline_fetch{J("alice@localhost")})
    .receive([&](std::vector<hooks::offline_message>& x) { msgs = x; },
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  CAF_REQUIRE_EQUAL(msgs.size(), 2u);
  CAF_CHECK_LESS(msgs[0].id, msgs[1].id);
  CAF_CHECK_EQUAL(msgs[0].stanza->attr_or("id"), "m1");
  CAF_CHECK_EQUAL(msgs[0].stanza->child("body")->text(),
                  "first & <second>");
  CAF_CHECK(msgs[0].stanza->child("delay", "urn:xmpp:delay") != nullptr);
  CAF_CHECK_EQUAL(msgs[1].stanza->child("body")->text(),
                  "h\xc3\xa9llo \xe2\x9c\x93");
  auto x = msgs[1].stanza->child("x", "urn:example:x");
  CAF_REQUIRE(x != nullptr);
  CAF_CHECK_EQUAL(x->attr_or("a"), "1");
  CAF_CHECK(x->child("y", "urn:example:x") != nullptr);
  // The vCard with its photo, to another user.
  auto r = ask("bob@localhost/work", "alice@localhost",
               "<iq type='get' id='v'><vCard xmlns='vcard-temp'/></iq>");
  auto v = r->child("vCard", "vcard-temp");
  CAF_REQUIRE(v != nullptr);
  CAF_CHECK_EQUAL(v->child("FN", "vcard-temp")->text(), fn);
  auto photo = v->child("PHOTO", "vcard-temp");
  CAF_REQUIRE(photo != nullptr);
  auto bin = base64::decode(photo->child("BINVAL", "vcard-temp")->text());
  CAF_REQUIRE(bin);
  CAF_CHECK(*bin == photo_bytes());
  // Private XML, each stored element by its own key.
  r = ask("alice@localhost/home", "alice@localhost",
          "<iq type='get' id='p'><query xmlns='jabber:iq:private'>"
          "<storage xmlns='storage:bookmarks'/></query></iq>");
  auto q = r->child("query", "jabber:iq:private");
  CAF_REQUIRE(q != nullptr);
  auto s = q->child("storage", "storage:bookmarks");
  CAF_REQUIRE(s != nullptr);
  auto conf = s->child("conference", "storage:bookmarks");
  CAF_REQUIRE(conf != nullptr);
  CAF_CHECK_EQUAL(conf->attr_or("jid"), "room@conf");
  CAF_CHECK_EQUAL(conf->child("nick", "storage:bookmarks")->text(), "al");
  r = ask("alice@localhost/home", "alice@localhost",
          "<iq type='get' id='p'><query xmlns='jabber:iq:private'>"
          "<prefs xmlns='urn:example:prefs'/></query></iq>");
  q = r->child("query", "jabber:iq:private");
  CAF_REQUIRE(q != nullptr);
  auto p = q->child("prefs", "urn:example:prefs");
  CAF_REQUIRE(p != nullptr);
  CAF_CHECK_EQUAL(p->child("v", "urn:example:prefs")->text(), "1");
  // The last logout, with its status, long ago.
  r = ask("alice@localhost/home", "alice@localhost",
          "<iq type='get' id='l'><query xmlns='jabber:iq:last'/></iq>");
  q = r->child("query", "jabber:iq:last");
  CAF_REQUIRE(q != nullptr);
  CAF_CHECK_EQUAL(q->text(), "Gone fishing");
  CAF_CHECK_GREATER(std::stol(q->attr_or("seconds")), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

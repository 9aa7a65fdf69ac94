#define CAF_SUITE plugins.mam

// mam.memory and mam.sqlite (plugins/mam/): XEP-0313 archives through the
// `archive.store` notification and the `archive.query` hook, with a fake
// vhost answering auth.user_exists and roster.load_item. The same checks
// run against both stores (one feature actor, plugins/mam/serve.hpp);
// mam.sqlite is detached, so a real actor_system and a scoped_actor.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "common/stored_xml.hpp"
#include "hooks/catalogue.hpp"
#include "plugins/mam/common/query.hpp"
#include "server/registry.hpp"

using namespace dja;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

jid J(const std::string& s) {
  return *jid::parse(s);
}

xml::element_ptr X(const std::string& text) {
  auto e = xml::parse_stored(text);
  CAF_REQUIRE(e != nullptr);
  return e;
}

caf::behavior fake_vhost(caf::event_based_actor*) {
  return {
    [](const hooks::auth_user_exists& r) {
      return r.user.local() != "nobody";
    },
    [](const hooks::roster_load_item& r) {
      std::vector<hooks::roster_item> items;
      if (r.contact.local() == "friend")
        items.push_back(hooks::roster_item{r.contact});
      return items;
    },
  };
}

using release_atom = caf::atom_constant<caf::atom("release")>;

/// fake_vhost, but the answer about the account "slow" waits for
/// `release` (which answers how many it released): the archive waits
/// for it, and its backlog builds up behind.
struct holding_state {
  std::vector<caf::response_promise> held;
};

caf::behavior holding_vhost(caf::stateful_actor<holding_state>* self) {
  return {
    [self](const hooks::auth_user_exists& r) -> caf::result<bool> {
      if (r.user.local() != "slow")
        return r.user.local() != "nobody";
      self->state.held.push_back(self->make_response_promise());
      return self->state.held.back();
    },
    [](const hooks::roster_load_item&) {
      return std::vector<hooks::roster_item>{};
    },
    [self](release_atom) {
      auto n = static_cast<int>(self->state.held.size());
      for (auto& rp : self->state.held)
        rp.deliver(true);
      self->state.held.clear();
      return n;
    },
  };
}

struct fixture {
  const char* type = "mam.sqlite";
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  fs::path dir;
  toml::table options;
  plugins::manifest all;
  caf::actor vhost;
  std::vector<caf::actor> spawned;
  int n = 0;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/mam_test.XXXXXX";
    dir = mkdtemp(tmpl);
    vhost = sys.spawn(fake_vhost);
  }

  ~fixture() {
    for (auto& a : spawned) {
      self->monitor(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->receive([](const caf::down_msg&) {});
    }
    self->send_exit(vhost, caf::exit_reason::user_shutdown);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  caf::actor plugin() {
    plugins::spawn_context ctx{sys, "localhost", dir.string(), options, all,
                               vhost};
    auto t = plugins::find_type(type);
    CAF_REQUIRE(t != nullptr);
    auto a = t->spawn(ctx);
    spawned.push_back(a);
    return a;
  }

  /// alice's session sends `body` to bob: both archive it under `id`.
  std::string chat(const caf::actor& a, const std::string& body,
                   const std::string& from = "alice@localhost/phone",
                   const std::string& to = "bob@localhost/laptop") {
    auto id = "id" + std::to_string(++n);
    auto s = X("<message from='" + from + "' to='" + to
               + "' type='chat'><body>" + body + "</body></message>");
    self->send(a, hooks::archive_store{s, J(from), J(to), id, id,
                                       1700000000000000 + n, true});
    return id;
  }

  /// The answer to `iq` (from bob's session unless `from` says otherwise).
  std::vector<xml::element_ptr> ask(const caf::actor& a,
                                    const std::string& iq,
                                    const std::string& from
                                    = "bob@localhost/laptop") {
    std::vector<xml::element_ptr> res;
    auto st = X(iq);
    self
      ->request(a, 30s,
                hooks::archive_query{st, J(from), J(from).bare()})
      .receive(
        [&](hooks::answer<std::vector<xml::element_ptr>>& x) {
          CAF_REQUIRE(!x.declined);
          res = std::move(x.value);
        },
        [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    CAF_REQUIRE(!res.empty());
    return res;
  }

  /// The result ids of an answer, and its <fin/> (or error) last.
  static std::vector<std::string> ids(const std::vector<xml::element_ptr>& r) {
    std::vector<std::string> out;
    for (size_t i = 0; i + 1 < r.size(); ++i)
      out.push_back(r[i]->child("result")->attr_or("id"));
    return out;
  }

  static std::string fin_attr(const std::vector<xml::element_ptr>& r,
                              const char* what) {
    auto f = r.back()->child("fin");
    if (f == nullptr)
      return "<no fin>";
    if (std::string{what} == "complete")
      return f->attr_or("complete", "false");
    auto set = f->child("set");
    auto c = set ? set->child(what) : nullptr;
    return c ? c->text() : "";
  }

  /// Rows written to the SQLite file so far.
  int64_t rows_on_disk() {
    sqlite3* db = nullptr;
    auto path = (dir / "mam.sqlite").string();
    CAF_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY,
                                nullptr)
                == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM mam_messages", -1, &st,
                       nullptr);
    int64_t res = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
      res = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return res;
  }
};

const char* query(const char* rsm = "") {
  static std::string s;
  s = std::string{"<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' "
                  "queryid='f'><set xmlns='http://jabber.org/protocol/rsm'>"}
      + rsm + "</set></query></iq>";
  return s.c_str();
}

struct checks : fixture {
  /// both sides archived; pages forward and backward
  void paging() {
    auto a = plugin();
    std::vector<std::string> all;
    for (int i = 0; i < 7; ++i)
      all.push_back(chat(a, "m" + std::to_string(i)));
    auto r = ask(a, query("<max>3</max>"));
    CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{all[0], all[1], all[2]}));
    CAF_CHECK_EQUAL(fin_attr(r, "complete"), "false");
    CAF_CHECK_EQUAL(fin_attr(r, "count"), "7");
    CAF_CHECK_EQUAL(fin_attr(r, "first"), all[0]);
    CAF_CHECK_EQUAL(fin_attr(r, "last"), all[2]);
    r = ask(a, query(("<max>5</max><after>" + all[2] + "</after>").c_str()));
    CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{all[3], all[4], all[5],
                                                      all[6]}));
    CAF_CHECK_EQUAL(fin_attr(r, "complete"), "true");
    r = ask(a, query("<max>2</max><before/>"));
    CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{all[5], all[6]}));
    CAF_CHECK_EQUAL(fin_attr(r, "complete"), "false");
    r = ask(a, query(("<max>9</max><before>" + all[1] + "</before>").c_str()));
    CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{all[0]}));
    CAF_CHECK_EQUAL(fin_attr(r, "complete"), "true");
    r = ask(a, query("<max>2</max><index>3</index>"));
    CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{all[3], all[4]}));
    // The sender's archive holds the same messages.
    r = ask(a, query(), "alice@localhost/phone");
    CAF_CHECK_EQUAL(ids(r).size(), 7u);
    // The forwarded message is the one stored.
    auto fwd = r.front()->child("result")->child("forwarded");
    CAF_REQUIRE(fwd != nullptr);
    CAF_CHECK_EQUAL(fwd->child("message")->child("body")->text(), "m0");
    CAF_CHECK(fwd->child("delay") != nullptr);
    r = ask(a, query("<after>unknown</after>"));
    CAF_CHECK(r.back()->child("error")->child("item-not-found") != nullptr);
  }

  /// preferences: never, always list, roster
  void preferences() {
    auto a = plugin();
    ask(a, "<iq type='set' id='p'><prefs xmlns='urn:xmpp:mam:2' "
           "default='roster'><never><jid>carol@localhost</jid></never>"
           "</prefs></iq>");
    chat(a, "stranger", "stranger@localhost/x");
    auto kept = chat(a, "friend", "friend@localhost/x");
    chat(a, "carol", "carol@localhost/x");
    auto r = ask(a, query());
    CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{kept}));
    r = ask(a, "<iq type='get' id='p'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
    CAF_CHECK_EQUAL(r.front()->child("prefs")->attr_or("default"), "roster");
  }

  /// an unknown recipient gets no archive; a note to self is one row
  void accounts() {
    auto a = plugin();
    auto s = X("<message from='alice@localhost/a' to='nobody@localhost' "
               "type='chat'><body>x</body></message>");
    self->send(a, hooks::archive_store{s, J("alice@localhost/a"),
                                       J("nobody@localhost"), "", "z1", 1,
                                       false});
    auto r = ask(a, query(), "nobody@localhost/x");
    CAF_CHECK_EQUAL(fin_attr(r, "count"), "0");
    chat(a, "note", "bob@localhost/a", "bob@localhost");
    r = ask(a, query());
    CAF_CHECK_EQUAL(fin_attr(r, "count"), "1");
  }

  /// another user's archive is forbidden
  void forbidden() {
    auto a = plugin();
    auto st = X("<iq type='set' id='q' from='alice@localhost/a'><query "
                "xmlns='urn:xmpp:mam:2'/></iq>");
    hooks::answer<std::vector<xml::element_ptr>> res;
    self
      ->request(a, 30s, hooks::archive_query{st, J("alice@localhost/a"),
                                             J("bob@localhost")})
      .receive([&](hooks::answer<std::vector<xml::element_ptr>>& x) {
        res = std::move(x);
      },
               [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    CAF_REQUIRE_EQUAL(res.value.size(), 1u);
    CAF_CHECK(res.value[0]->child("error")->child("forbidden") != nullptr);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(mam_tests, checks)

CAF_TEST(sqlite paging) {
  paging();
}

CAF_TEST(memory paging) {
  type = "mam.memory";
  paging();
}

CAF_TEST(sqlite preferences) {
  preferences();
}

CAF_TEST(memory preferences) {
  type = "mam.memory";
  preferences();
}

CAF_TEST(sqlite accounts) {
  accounts();
}

CAF_TEST(memory forbidden) {
  type = "mam.memory";
  forbidden();
}

/// Writes wait for batch_max rows (or batch_ms); a query writes what
/// waits first.
CAF_TEST(sqlite batched writes) {
  options.insert("batch_ms", int64_t{10000});
  options.insert("batch_max", int64_t{5});
  auto a = plugin();
  auto form = "<iq type='get' id='f'><query xmlns='urn:xmpp:mam:2'/></iq>";
  chat(a, "1"); // a row for alice and one for bob
  chat(a, "2");
  // The plugin handles its mailbox in order; the form writes nothing.
  ask(a, form);
  CAF_CHECK_EQUAL(rows_on_disk(), 0); // 4 rows wait
  chat(a, "3");
  ask(a, form);
  CAF_CHECK_EQUAL(rows_on_disk(), 5); // the 5th row: one transaction
  chat(a, "4");
  ask(a, form);
  CAF_CHECK_EQUAL(rows_on_disk(), 5); // 3 wait
  auto r = ask(a, query()); // a query writes what waits first
  CAF_CHECK_EQUAL(rows_on_disk(), 8);
  CAF_CHECK_EQUAL(ids(r).size(), 4u);
}

/// A graceful stop writes every notification queued before it (the
/// front's pending ones, the archive's mailbox, its pending rows).
CAF_TEST(sqlite stop drains) {
  options.insert("batch_ms", int64_t{10000});
  options.insert("batch_max", int64_t{100000});
  auto a = plugin();
  for (int i = 0; i < 3000; ++i)
    chat(a, std::to_string(i));
  self->monitor(a);
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  spawned.clear();
  CAF_CHECK_EQUAL(rows_on_disk(), 6000);
}

/// max_backlog: past it a message is not archived (counted and logged;
/// it was delivered); once the writer caught up, archiving goes on.
CAF_TEST(sqlite backlog bound) {
  self->send_exit(vhost, caf::exit_reason::user_shutdown);
  vhost = sys.spawn(holding_vhost);
  options.insert("max_backlog", int64_t{3});
  options.insert("batch_ms", int64_t{1});
  auto a = plugin();
  // To an account the archive asks about: the vhost holds the answer,
  // the archive waits for it and the next messages wait behind.
  auto s = X("<message from='alice@localhost/phone' to='slow@localhost' "
             "type='chat'><body>x</body></message>");
  self->send(a, hooks::archive_store{s, J("alice@localhost/phone"),
                                     J("slow@localhost"), "", "s1",
                                     1700000000000000, false});
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i)
    sent.push_back(chat(a, "m" + std::to_string(i)));
  // The backlog is full (s1 and the first two); the last three are not
  // archived. Release the answer once the archive asked (bounded: 5 s).
  int released = 0;
  for (int i = 0; i < 500 && released == 0; ++i) {
    self->request(vhost, 5s, release_atom::value)
      .receive([&](int n) { released = n; },
               [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    if (released == 0)
      std::this_thread::sleep_for(10ms);
  }
  CAF_REQUIRE_EQUAL(released, 1);
  auto r = ask(a, query(), "alice@localhost/phone");
  CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{sent[0], sent[1]}));
  r = ask(a, query(), "slow@localhost/x");
  CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{"s1"}));
  // The writer caught up: archived again.
  auto again = chat(a, "again");
  r = ask(a, query(), "bob@localhost/laptop");
  CAF_CHECK_EQUAL(ids(r), (std::vector<std::string>{sent[0], sent[1], again}));
}

/// Retention: max_messages keeps the newest rows.
CAF_TEST(sqlite quota) {
  options.insert("max_messages", int64_t{2});
  options.insert("prune_interval_s", int64_t{1});
  auto a = plugin();
  chat(a, "1");
  chat(a, "2");
  auto last = chat(a, "3");
  ask(a, query()); // written
  std::vector<std::string> got;
  for (int i = 0; i < 50; ++i) { // bounded: 5 s
    std::this_thread::sleep_for(100ms);
    got = ids(ask(a, query()));
    if (got.size() == 2)
      break;
  }
  CAF_REQUIRE_EQUAL(got.size(), 2u);
  CAF_CHECK_EQUAL(got.back(), last);
}

CAF_TEST(dates) {
  using plugins::mam::format_stamp;
  using plugins::mam::parse_stamp;
  CAF_CHECK_EQUAL(*parse_stamp("1970-01-01T00:00:01Z"), 1000000);
  CAF_CHECK_EQUAL(*parse_stamp("1970-01-01T02:00:01.5+02:00"), 1500000);
  CAF_CHECK(!parse_stamp("1970-01-01 00:00:01Z"));
  CAF_CHECK(!parse_stamp("1970-01-01T00:00:01"));
  CAF_CHECK(!parse_stamp("1970-13-01T00:00:01Z"));
  CAF_CHECK_EQUAL(format_stamp(1500000), "1970-01-01T00:00:01.500000Z");
}

CAF_TEST_FIXTURE_SCOPE_END()

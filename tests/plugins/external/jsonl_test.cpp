// The jsonl protocol of the `external` plugin (plugins/external/jsonl_*):
// the codec of hook requests and answers, the start check's handshake,
// and one process against a real program (tests/external/faults_jsonl.py,
// calls on threads): a password with ':' and '€', junk on stdout, a crash
// mid-request and a hang, each failing only the calls it holds.

#define CAF_SUITE plugins.external.jsonl
#include <caf/test/unit_test_impl.hpp>

#include <thread>

#include <caf/all.hpp>

#include "plugins/external/jsonl_worker.hpp"

using namespace dja;
using namespace dja::plugins::external;
using namespace dja::plugins::external::jsonl;

namespace {

const std::string tests = std::string{DJA_SOURCE_DIR} + "/tests/external/";
const std::string euro_pw = "a:b\xe2\x82\xac" "c";

jid j(const char* s) {
  return *jid::parse(s);
}

/// A worker on faults_jsonl.py with `fault`.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::actor w;

  void start(const std::string& fault, int max_timeouts = 3,
             size_t concurrency = 8, const std::string& delay_ms = "0") {
    worker_config wc;
    wc.argv = {tests + "faults_jsonl.py", fault, delay_ms};
    wc.concurrency = concurrency;
    wc.tag = "test";
    wc.parent = caf::actor_cast<caf::actor>(self);
    wc.timeout = std::chrono::milliseconds{1000};
    wc.max_timeouts = max_timeouts;
    w = sys.spawn<caf::detached>(worker, wc);
  }

  ~fixture() {
    self->send_exit(w, caf::exit_reason::user_shutdown);
  }

  call check(const char* user, const std::string& pw) {
    return {"auth.check_password",
            params_of(hooks::auth_check_password{j(user), pw, ""})};
  }

  /// "1", "0" or "E" (an error) for each call, sent one after another.
  std::string run(std::vector<call> calls) {
    std::string out;
    for (auto& c : calls) {
      if (c.method == "wait") { // past the 250 ms back-off
        std::this_thread::sleep_for(std::chrono::milliseconds{400});
        continue;
      }
      self->request(w, std::chrono::seconds{10}, c)
        .receive([&](json& r) { out += r == true ? '1' : '0'; },
                 [&](caf::error&) { out += 'E'; });
    }
    return out;
  }
};

const call wait_call{"wait", {}};

} // namespace

CAF_TEST(requests become params by field name) {
  auto p = params_of(hooks::auth_check_password{j("alice@x"), euro_pw,
                                                "192.0.2.7"});
  CAF_CHECK_EQUAL(p["user"], "alice@x");
  CAF_CHECK_EQUAL(p["password"], euro_pw);
  CAF_CHECK_EQUAL(p["remote_addr"], "192.0.2.7");
  auto r = params_of(hooks::roster_get{j("alice@x")});
  CAF_CHECK_EQUAL(r.dump(), R"({"user":"alice@x"})");
}

CAF_TEST(results become answers) {
  hooks::roster ro;
  CAF_CHECK_EQUAL(decode(json::parse(R"({"version": "3", "items": [
      {"jid": "bob@x/r", "name": "Bob", "groups": ["G"],
       "subscription": "both", "ask": true}]})"), ro), "");
  CAF_REQUIRE_EQUAL(ro.items.size(), 1u);
  CAF_CHECK_EQUAL(ro.version, "3");
  CAF_CHECK_EQUAL(ro.items[0].contact.str(), "bob@x"); // bare
  CAF_CHECK_EQUAL(ro.items[0].subscription, "both");
  CAF_CHECK(ro.items[0].ask_out);
  hooks::account_result ar;
  CAF_CHECK_EQUAL(decode(json("conflict"), ar), "");
  CAF_CHECK(ar == hooks::account_result::conflict);
  CAF_CHECK_NOT_EQUAL(decode(json("maybe"), ar), "");
  hooks::filter_verdict v;
  CAF_CHECK_EQUAL(decode(json::parse(R"({"drop": "spam"})"), v), "");
  CAF_CHECK(v.stanza == nullptr);
  CAF_CHECK_EQUAL(decode(json::parse(R"({"stanza": "<message/>"})"), v),
                  "");
  CAF_CHECK(v.stanza != nullptr);
  xml::element_ptr e;
  CAF_CHECK_NOT_EQUAL(decode(json("<a><b></a>"), e), "");
  bool b = false;
  CAF_CHECK_NOT_EQUAL(decode(json(1), b), "");
  std::string err;
  hooks_of(json::parse(R"(["auth.check_pasword"])"), err);
  CAF_CHECK_NOT_EQUAL(err, "");
}

CAF_TEST(the start check refuses what cannot serve) {
  std::string err;
  handshake({tests + "never_starts.sh"}, json::object(),
            std::chrono::seconds{5}, err);
  CAF_CHECK_NOT_EQUAL(err.find("exited at start (exit status 1)"),
                      std::string::npos);
  CAF_CHECK_NOT_EQUAL(err.find("stderr: extauth: cannot open"),
                      std::string::npos);
  // A program gone before initialize is written: an EPIPE, never a
  // SIGPIPE killing the server (the config check runs before main.cpp
  // ignores it); a race, so tried a few times.
  for (int i = 0; i < 20; ++i) {
    err.clear();
    handshake({"/bin/true"}, json::object(), std::chrono::seconds{5}, err);
    CAF_CHECK_NOT_EQUAL(err.find("exited at start (exit status 0)"),
                        std::string::npos);
  }
  handshake({tests + "bad_handshake.sh"}, json::object(),
            std::chrono::seconds{5}, err);
  CAF_CHECK_NOT_EQUAL(err.find("got: Welcome"), std::string::npos);
  err.clear();
  auto r = handshake({tests + "faults_jsonl.py", "none"}, json::object(),
                     std::chrono::seconds{10}, err);
  CAF_CHECK_EQUAL(err, "");
  CAF_CHECK_EQUAL(r["hooks"][0], "auth.check_password");
}

CAF_TEST_FIXTURE_SCOPE(jsonl_worker, fixture)

CAF_TEST(passwords with colon and euro) {
  start("none");
  CAF_CHECK_EQUAL(run({check("alice@h", "pw"), check("alice@h", "x"),
                       check("colon@h", euro_pw)}),
                  "101");
}

CAF_TEST(junk fails the calls and restarts) {
  start("junk");
  CAF_CHECK_EQUAL(run({check("alice@h", "pw"), check("junk@h", "pw"),
                       wait_call, check("alice@h", "pw")}),
                  "1E1");
}

CAF_TEST(crash fails the call and restarts) {
  start("crash");
  CAF_CHECK_EQUAL(run({check("crash@h", "pw"), wait_call,
                       check("alice@h", "pw")}),
                  "E1");
}

CAF_TEST(a hang holds only its own call) {
  start("hang");
  // The hang's call is in flight while alice's is answered.
  auto hang = self->request(w, std::chrono::seconds{10},
                            check("hang@h", "pw"));
  CAF_CHECK_EQUAL(run({check("alice@h", "pw"), check("colon@h", euro_pw)}),
                  "11");
  std::string out;
  std::move(hang).receive([&](json&) { out += '1'; },
                          [&](caf::error&) { out += 'E'; });
  CAF_CHECK_EQUAL(out, "E");
  CAF_CHECK_EQUAL(run({check("alice@h", "pw")}), "1");
}

CAF_TEST(a blocked program is restarted after max_timeouts) {
  start("block", 2);
  CAF_CHECK_EQUAL(run({check("block@h", "pw"), check("alice@h", "pw"),
                       wait_call, check("alice@h", "pw")}),
                  "EE1");
}

CAF_TEST(at most concurrency calls in flight) {
  start("none", 3, 2, "100");
  using handle = decltype(self->request(w, std::chrono::seconds{10},
                                       call{}));
  std::vector<handle> pending;
  for (int i = 0; i < 6; ++i)
    pending.push_back(self->request(w, std::chrono::seconds{10},
                                    check("alice@h", "pw")));
  std::string out;
  for (auto& p : pending)
    std::move(p).receive([&](json& r) { out += r == true ? '1' : '0'; },
                         [&](caf::error&) { out += 'E'; });
  CAF_CHECK_EQUAL(out, "111111");
  int64_t peak = -1;
  self->request(w, std::chrono::seconds{10}, call{"test.peak", json::object()})
    .receive([&](json& r) { peak = r.get<int64_t>(); },
             [&](caf::error&) {});
  CAF_CHECK(peak >= 1 && peak <= 2);
}

CAF_TEST_FIXTURE_SCOPE_END()

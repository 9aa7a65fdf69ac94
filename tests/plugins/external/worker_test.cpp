// The process of the `external` plugin (plugins/external/worker.hpp)
// against real scripts: ejabberd's extauth framing and Prosody's line
// protocol (a password with ':' and '€'), and the faults: junk on stdout,
// a crash mid-request, a hang; each fails only its call, and the program
// answers again after its restart.

#define CAF_SUITE plugins.external.worker
#include <caf/test/unit_test_impl.hpp>

#include <thread>

#include <caf/all.hpp>

#include "plugins/external/worker.hpp"

using namespace dja::plugins::external;

namespace {

const std::string tests = std::string{DJA_SOURCE_DIR} + "/tests/external/";
const std::string extauth = std::string{DJA_SOURCE_DIR}
                            + "/examples/extauth/extauth.py";
const std::string euro_pw = "a:b\xe2\x82\xac" "c";

/// Sends each command; "wait" sleeps past the 250 ms back-off. Replies:
/// "1", "0" or "E" (an error).
std::string run(std::vector<std::string> argv, bool line_based,
                std::vector<std::string> cmds, int max_timeouts = 3) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  worker_config wc;
  wc.argv = std::move(argv);
  wc.line_based = line_based;
  wc.tag = "test";
  wc.timeout = std::chrono::milliseconds{500};
  wc.max_timeouts = max_timeouts;
  auto w = sys.spawn<caf::detached>(worker, wc);
  caf::scoped_actor self{sys};
  std::string out;
  for (auto& c : cmds) {
    if (c == "wait") {
      std::this_thread::sleep_for(std::chrono::milliseconds{400});
      continue;
    }
    self->request(w, std::chrono::seconds{10}, c)
      .receive([&](bool ok) { out += ok ? '1' : '0'; },
               [&](caf::error&) { out += 'E'; });
  }
  self->send_exit(w, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace

CAF_TEST(ejabberd framing) {
  CAF_CHECK_EQUAL(run({extauth}, false,
                      {"auth:alice:localhost:pw", "auth:alice:localhost:x",
                       "auth:colon:localhost:" + euro_pw,
                       "isuser:zed:localhost", "tryregister:zed:localhost:p",
                       "auth:zed:localhost:p"}),
                  "101011");
}

CAF_TEST(prosody lines) {
  CAF_CHECK_EQUAL(run({"/bin/bash", tests + "prosody_extauth.sh"}, true,
                      {"auth:alice:h:pw", "auth:colon:h:" + euro_pw,
                       "auth:alice:h:no"}),
                  "110");
}

CAF_TEST(junk fails the call and restarts) {
  CAF_CHECK_EQUAL(run({tests + "faults.py", "junk"}, false,
                      {"auth:alice:h:pw", "auth:junk:h:pw", "wait",
                       "auth:alice:h:pw"}),
                  "1E1");
}

CAF_TEST(crash fails the call and restarts) {
  CAF_CHECK_EQUAL(run({tests + "faults.py", "crash"}, false,
                      {"auth:crash:h:pw", "wait", "auth:alice:h:pw"}),
                  "E1");
}

CAF_TEST(hang times out then restarts) {
  CAF_CHECK_EQUAL(run({tests + "faults.py", "hang"}, false,
                      {"auth:hang:h:pw", "auth:alice:h:pw", "auth:alice:h:pw",
                       "wait", "auth:alice:h:pw"}),
                  "EEE1");
  CAF_CHECK_EQUAL(run({tests + "faults.py", "hang"}, false,
                      {"auth:hang:h:pw", "wait", "auth:alice:h:pw"}, 1),
                  "E1");
}

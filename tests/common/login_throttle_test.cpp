#define CAF_SUITE common.login_throttle

#include "common/login_throttle.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <thread>

using namespace dja;
using namespace std::chrono;

namespace {

/// The delay of one attempt, in whole seconds (rounded up).
long delay_s(login_throttle& t, const std::string& addr,
             const std::string& account) {
  return static_cast<long>(ceil<seconds>(t.answer_delay(addr, account))
                             .count());
}

} // namespace

CAF_TEST(free failures cost nothing) {
  login_throttle t{3, seconds{600}, seconds{60}};
  for (int i = 0; i < 3; ++i) {
    CAF_CHECK(t.allowed("10.0.0.1"));
    CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "alice@x"), 0);
    CAF_CHECK_EQUAL(t.failed("10.0.0.1", "alice@x"), i == 2);
  }
}

CAF_TEST(answers beyond them are spaced by a doubling step) {
  login_throttle t{2, seconds{600}, seconds{5}};
  t.failed("10.0.0.1", "a@x");
  t.failed("10.0.0.1", "b@x");
  // Address at its limit: the next answers come 1 s apart ...
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "c@x"), 0);
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "c@x"), 1);
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "c@x"), 2);
  // ... and 2 s apart after one more failure, up to the bound.
  t.failed("10.0.0.1", "c@x");
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "c@x"), 3);
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "c@x"), 5);
  // The queue is full: new attempts from the address are refused ...
  CAF_CHECK(!t.allowed("10.0.0.1"));
  // ... others are not affected.
  CAF_CHECK(t.allowed("10.0.0.2"));
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.2", "d@x"), 0);
}

CAF_TEST(one account guessed from many addresses is slowed) {
  login_throttle t{2, seconds{600}, seconds{60}};
  t.failed("10.0.0.1", "alice@x");
  t.failed("10.0.0.2", "alice@x");
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.3", "alice@x"), 0);
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.4", "alice@x"), 1);
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.4", "bob@x"), 0);
  // The owner's success clears the account, not the addresses.
  t.succeeded("alice@x");
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.5", "alice@x"), 0);
}

CAF_TEST(failures are forgotten after the window) {
  login_throttle t{1, seconds{0}, seconds{60}};
  t.failed("10.0.0.1", "a@x");
  std::this_thread::sleep_for(milliseconds{5});
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "a@x"), 0);
  CAF_CHECK_EQUAL(delay_s(t, "10.0.0.1", "a@x"), 0);
}

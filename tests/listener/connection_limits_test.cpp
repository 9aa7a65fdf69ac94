#define CAF_SUITE listener.connection_limits

#include "listener/connection_limits.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

using namespace dja;
using verdict = connection_limits::verdict;

CAF_TEST(keys) {
  CAF_CHECK_EQUAL(connection_limits::key_of("192.0.2.7"), "192.0.2.7");
  CAF_CHECK_EQUAL(connection_limits::key_of("::ffff:192.0.2.7"), "192.0.2.7");
  // One host usually has a whole /64.
  CAF_CHECK_EQUAL(connection_limits::key_of("2001:db8:1:2:3:4:5:6"),
                  "2001:db8:1:2::/64");
  CAF_CHECK_EQUAL(connection_limits::key_of("2001:db8:1:2:ffff::1"),
                  "2001:db8:1:2::/64");
  CAF_CHECK_EQUAL(connection_limits::key_of("::1"), "::/64");
}

CAF_TEST(per address and in total) {
  connection_limits l{3, 2};
  CAF_CHECK(l.admit("a") == verdict::ok);
  CAF_CHECK(l.admit("a") == verdict::ok);
  CAF_CHECK(l.admit("a") == verdict::address_full);
  CAF_CHECK(l.admit("b") == verdict::ok);
  CAF_CHECK(l.admit("c") == verdict::server_full);
  CAF_CHECK_EQUAL(l.total(), 3u);
  // Closed connections free their place.
  l.release("a");
  CAF_CHECK(l.admit("c") == verdict::ok);
  l.release("a");
  CAF_CHECK(l.admit("a") == verdict::ok);
  CAF_CHECK_EQUAL(l.total(), 3u);
}

CAF_TEST(total from the file limit) {
  connection_limits l{0, 0};
  CAF_CHECK_GREATER(l.max_total(), 0u);
  for (int i = 0; i < 100; ++i)
    CAF_CHECK(l.admit("a") == verdict::ok);
}

CAF_TEST(refusals are logged at most every 10 s per address) {
  connection_limits l{1, 1};
  CAF_CHECK_EQUAL(l.to_log("a"), 1u);
  CAF_CHECK_EQUAL(l.to_log("a"), 0u);
  CAF_CHECK_EQUAL(l.to_log("a"), 0u);
  CAF_CHECK_EQUAL(l.to_log("b"), 1u);
}

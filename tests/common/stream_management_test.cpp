#define CAF_SUITE common.stream_management

// XEP-0198 §4 counters (32-bit 'h' with wrap-around, the too-high case)
// and the node's table of resumable sessions.

#include "common/stream_management.hpp"

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <caf/all.hpp>

using namespace dja;

CAF_TEST(h is a decimal unsigned 32-bit integer) {
  CAF_CHECK_EQUAL(sm::parse_h("0"), uint32_t{0});
  CAF_CHECK_EQUAL(sm::parse_h("4294967295"), uint32_t{4294967295u});
  CAF_CHECK(!sm::parse_h("4294967296"));
  CAF_CHECK(!sm::parse_h("-1"));
  CAF_CHECK(!sm::parse_h(""));
  CAF_CHECK(!sm::parse_h("12a"));
  CAF_CHECK(!sm::parse_h(" 1"));
}

CAF_TEST(an ack counts from the last one) {
  CAF_CHECK_EQUAL(sm::newly_acked(0, 0, 0), uint32_t{0});
  CAF_CHECK_EQUAL(sm::newly_acked(0, 3, 3), uint32_t{3});
  CAF_CHECK_EQUAL(sm::newly_acked(3, 5, 4), uint32_t{2});
  CAF_CHECK_EQUAL(sm::newly_acked(5, 5, 0), uint32_t{0});
}

CAF_TEST(h wraps to zero after 2 ^ 32 - 1) {
  // XEP-0198 §4: "h" is reset to 0 after 2^32 - 1.
  uint32_t acked = 4294967294u; // 2^32 - 2
  CAF_CHECK_EQUAL(sm::newly_acked(acked, 4294967295u, 10), uint32_t{1});
  CAF_CHECK_EQUAL(sm::newly_acked(acked, 0, 10), uint32_t{2});
  CAF_CHECK_EQUAL(sm::newly_acked(acked, 3, 10), uint32_t{5});
  CAF_CHECK(!sm::newly_acked(acked, 9, 10)); // 11 > 10 sent
}

CAF_TEST(more acknowledged than sent is refused) {
  CAF_CHECK(!sm::newly_acked(0, 1, 0));
  CAF_CHECK(!sm::newly_acked(2, 6, 3));
  // An h "behind" the last one is a huge count modulo 2^32: refused too.
  CAF_CHECK(!sm::newly_acked(5, 4, 100));
}

CAF_TEST(resumption ids name their node and are unique) {
  sm::registry reg{"n1"};
  caf::actor none;
  auto a = reg.add(none);
  auto b = reg.add(none);
  CAF_CHECK_NOT_EQUAL(a, b);
  CAF_CHECK_EQUAL(std::string{sm::registry::node_of(a)}, "n1");
  CAF_CHECK_EQUAL(a.size(), 3u + 32u);
  CAF_CHECK(sm::registry::node_of("nodot").empty());
  sm::registry single{""};
  CAF_CHECK_EQUAL(std::string{sm::registry::node_of(single.add(none))}, "dja");
}

CAF_TEST(a removed id is not found) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto s = sys.spawn([] { return caf::behavior{[](int) {}}; });
  sm::registry reg{""};
  auto id = reg.add(s);
  CAF_CHECK(reg.find(id) == s);
  CAF_CHECK(!reg.find("dja.unknown"));
  reg.remove(id);
  CAF_CHECK(!reg.find(id));
  caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}

// IQs in flight per session ([limits] max_iqs_in_flight): a client may
// have that many iq get/set waiting for an answer (from the server or
// another entity); beyond it, the new one is answered
// <resource-constraint/> of type wait (RFC 6120 §8.3.3.18: the entity
// lacks the resources to serve it; retry later) instead of being routed.
// An iq stops counting when its result or error reaches the client, or
// after iq_wait (an entity that never answers does not block the client
// for ever).

#include <spdlog/spdlog.h>

#include "session/session_state.hpp"

namespace dja {

namespace {

using clock = std::chrono::steady_clock;

/// After this long an unanswered iq no longer counts.
constexpr auto iq_wait = std::chrono::seconds{120};

} // namespace

bool session_state::count_iq(const xml::element& e) {
  auto type = e.attr_or("type");
  if (type != "get" && type != "set")
    return true;
  auto now = clock::now();
  auto max = ctx->limits.max_iqs_in_flight;
  if (iqs_in_flight.size() >= max) {
    for (auto i = iqs_in_flight.begin(); i != iqs_in_flight.end();)
      i = now - i->second > iq_wait ? iqs_in_flight.erase(i) : std::next(i);
  }
  if (iqs_in_flight.size() >= max) {
    if (now - iq_limit_logged > std::chrono::seconds{10}) {
      iq_limit_logged = now;
      spdlog::warn("{} from {}: {} iqs waiting for an answer (limit {}): "
                   "answering <resource-constraint/>",
                   full.str(), remote, iqs_in_flight.size(), max);
    }
    reply_error(e, "resource-constraint");
    return false;
  }
  iqs_in_flight[e.attr_or("id")] = now;
  return true;
}

void session_state::iq_answered(const xml::element& e) {
  if (iqs_in_flight.empty())
    return;
  auto type = e.attr_or("type");
  if (type == "result" || type == "error")
    if (auto id = e.attr("id"))
      iqs_in_flight.erase(*id);
}

} // namespace dja

#pragma once

// The state of one session actor, split by protocol area:
// session.cpp (stanzas in and out, presence, routing) and roster.cpp
// (RFC 6121 §2 roster management).

#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include "common/jid.hpp"
#include "common/server_context.hpp"
#include "common/xml.hpp"
#include "hooks/catalogue.hpp"

namespace dja {

struct session_state {
  static inline const char* name = "session";

  caf::stateful_actor<session_state>* self = nullptr;
  jid full;
  jid bare;
  caf::actor conn;
  context_ptr ctx;
  const vhost_info* vhost = nullptr;
  std::string remote;
  bool available = false;
  int priority = 0;
  bool closed = false;
  bool offline_fetched = false;
  bool roster_interested = false; ///< asked for the roster (RFC 6121 §2.1.6)

  // --- session.cpp ---
  void to_client(xml::element_ptr e);
  void reply_error(const xml::element& e, std::string_view cond);
  void route(xml::element_ptr e, const jid& to);
  void from_client(const xml::element_ptr& in);
  bool valid_iq(const xml::element& e);
  void dispatch(const xml::element_ptr& e, const std::optional<jid>& to);
  void iq_for_server(const xml::element_ptr& e, const jid& target);
  void broadcast_presence(const xml::element& e);
  void fetch_offline();
  void close(const std::string& reason);

  // --- roster.cpp ---
  /// Some plugin of the vhost stores rosters (else roster iqs get the
  /// iq hook's default, <service-unavailable/>).
  bool vhost_has_roster() const { return vhost && vhost->has_roster; }
  void on_roster_iq(const xml::element_ptr& e);
  void roster_get(const xml::element_ptr& e);
  void roster_set(const xml::element_ptr& e);
  void push_item(const hooks::roster_item& item, const std::string& version,
                 bool removed);
  void on_roster_push(const xml::element_ptr& e);
};

} // namespace dja

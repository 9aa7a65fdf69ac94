#pragma once

// The state of one outgoing s2s stream (from a local domain to a remote
// one), split by protocol step: s2s_out.cpp (connecting, queue, closing
// and failing) and s2s_out_auth.cpp (features, STARTTLS, SASL EXTERNAL,
// dialback). Bytes, TLS and the parser are its stream::pump.

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/response_promise.hpp>

#include "common/messages.hpp"
#include "common/server_context.hpp"
#include "metrics/cells.hpp"
#include "s2s/settings.hpp"
#include "stream/pump.hpp"

namespace dja::s2s {

struct out_state : stream::events {
  static inline const char* name = "s2s.out";

  enum class phase : uint8_t {
    connecting, ///< the connector is looking up and connecting
    header,     ///< our header sent, waiting for the peer's header
    features,   ///< waiting for <stream:features/>
    starttls,   ///< <starttls/> sent, waiting for <proceed/>
    open,       ///< features read; verifies may go; not authenticating
    sasl,       ///< <auth mechanism='EXTERNAL'/> sent
    dialback,   ///< <db:result/> sent
    ready,      ///< authenticated: stanzas go out as they come
    closing,    ///< asked the manager to forget us
  };

  caf::io::broker* self = nullptr;
  context_ptr ctx;
  const settings* cfg = nullptr;
  std::string local;
  std::string remote;
  caf::actor manager;

  phase ph = phase::connecting;
  caf::io::connection_handle hdl;
  bool connected = false;
  /// dja_connections{kind="s2s_out"} from connect to finish().
  metrics::open_connection counted;
  bool connector_pending = false;
  std::string peer; ///< host:port, for the log
  std::optional<stream::pump> pump; ///< once connected
  std::string stream_id;                  ///< the id the peer gave us
  std::shared_ptr<const xml::element> features;
  bool sasl_tried = false;
  bool tls_header_pending = false; ///< restart once the handshake is done
  bool authenticated = false;
  std::string method; ///< "EXTERNAL" | "dialback"
  /// Why the stream ends; empty while alive. A failure bounces.
  std::string fail_condition;
  bool closing_asked = false;
  bool done_received = false; ///< the manager no longer routes to us

  /// Stanzas (jabber:client, from already stamped) waiting for `ready`.
  std::deque<msg::route> queue;
  /// Verify requests not yet written / written and waiting by id.
  struct verify {
    std::string stream_id;
    std::string key;
    caf::response_promise rp;
  };
  std::vector<verify> verifies_unsent;
  std::multimap<std::string, caf::response_promise> verifies_sent;

  uint64_t timer_gen = 0; ///< only the latest handshake timer counts
  std::chrono::steady_clock::time_point last_used;

  // --- s2s_out.cpp ---
  void start();
  void on_connected(struct connect_result& res);
  void on_route(msg::route& r);
  // stream::events
  void on_stream_open(const xml::stream_header& h) override;
  void on_stream_stanza(const xml::element_ptr& e) override;
  void on_stream_close() override;
  void on_stream_bad_xml(const char* condition) override;
  void on_stream_lost(const std::string& why, bool overflow) override;
  void on_tls_established() override;
  tls::session* tls() const { return pump ? pump->tls() : nullptr; }
  void on_idle_check();
  void arm_handshake_timer();
  void write(const std::string& text);
  void flush_queue();
  void send_verifies();
  /// Ends the stream: bounces what waits with `condition` (empty: a
  /// normal close, waiting stanzas are handed back to the manager).
  void finish(const std::string& condition, const std::string& why);
  void on_done();
  void bounce(const msg::route& r, const std::string& condition);

  // --- s2s_out_auth.cpp ---
  void send_header();
  void on_stanza(const xml::element_ptr& e);
  void on_features(const xml::element_ptr& e);
  /// Starts authenticating if stanzas wait and it has not started.
  void authenticate();
  void on_authenticated(const char* how);
  bool tls_usable() const;
  bool cert_valid() const;
};

} // namespace dja::s2s

#pragma once

// The state of one connection actor, split by protocol step:
// connection.cpp (bytes, stream header, stream errors, lifecycle),
// sasl.cpp (RFC 6120 §6, PLAIN), bind.cpp (RFC 6120 §7).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/io/broker.hpp>

#include "common/jid.hpp"
#include "common/server_context.hpp"
#include "common/stream_parser.hpp"
#include "connection/connection.hpp"
#include "common/scram.hpp"
#include "connection/tls.hpp"

namespace dja {

using throttle_atom = caf::atom_constant<caf::atom("throttle")>;

struct connection_state {
  static inline const char* name = "connection";

  /// Where the stream is in RFC 6120's negotiation.
  enum class phase : uint8_t {
    header, ///< waiting for the (next) stream header
    sasl,   ///< features sent, not authenticated
    bind,   ///< authenticated, no resource bound yet
    bound,  ///< a session exists; stanzas flow
    closed, ///< stream error or close sent
  };

  connection_broker* self = nullptr;
  caf::io::connection_handle hdl;
  context_ptr ctx;
  listener_options opts;
  std::unique_ptr<tls::session> tls; ///< set once TLS started
  std::unique_ptr<xml::stream_parser> parser;
  std::string remote;
  uint16_t remote_port = 0;
  phase ph = phase::header;
  bool authenticated = false;
  bool header_sent = false;
  bool accepted = false; ///< connection.accepted already asked
  const vhost_info* vhost = nullptr;
  jid user; ///< bare JID once authenticated; full once bound
  caf::actor session;
  std::string stream_id;

  /// Events parsed but not yet processed: processing stops while an
  /// asynchronous answer (auth, bind) is pending, so order is kept.
  std::deque<xml::stream_event> backlog;
  bool busy = false;
  /// Idle streams drop their parser (bench/RESULTS.md, "Memory"): a
  /// timer checks whether any bytes arrived since it was set.
  bool hibernate_timer = false;
  uint64_t data_seq = 0;
  uint64_t seq_at_timer = 0;
  int sasl_failures = 0;
  bool plain_needs_response = false; ///< PLAIN sent without initial data
  std::string sasl_mech;                        ///< for the log
  std::unique_ptr<scram::server_exchange> scram; ///< a SCRAM in progress
  jid scram_user; ///< empty: unknown user (the exchange will fail)
  /// The client asked for a channel-binding type we cannot provide.
  bool cb_type_mismatch = false;
  std::function<void()> held_answer; ///< held back by the auth throttle

  // --- connection.cpp ---
  void on_data(const char* data, size_t len);
  void on_plain(const char* data, size_t len);
  /// STARTTLS is on offer: the vhost has a certificate, TLS not started.
  bool tls_possible() const;
  /// Nothing but STARTTLS before TLS.
  bool tls_required() const;
  /// SASL PLAIN may be offered on this stream now.
  bool plain_allowed() const;
  void start_tls(SSL_CTX* ctx);
  void process();
  void on_event(xml::stream_event& ev);
  void on_stream_open(const xml::stream_header& h);
  void on_stanza(const xml::element_ptr& e);
  void send_header(const std::string& from);
  void send_features();
  void write(const std::string& text);
  void write(const xml::element& e);
  /// Sends the stream error (after our header if not yet sent), closes.
  void fail(const std::string& condition, const std::string& text = {});
  /// Ends the connection (stream already closed or failed).
  void shut(const char* reason);
  void resume(); ///< an asynchronous step finished: go on with the backlog
  void arm_hibernation();
  void on_hibernate_timer();

  // --- sasl.cpp ---
  std::vector<std::string> offered_mechanisms() const;
  bool plus_offered() const;
  void on_sasl(const xml::element& e);
  void sasl_plain(const std::string& b64);
  void scram_start(const std::string& mech, const std::string& b64);
  void scram_challenge(const scram::credentials& creds);
  void scram_response(const std::string& b64);
  std::optional<jid> user_for(const std::string& name) const;
  bool authzid_ok(const std::string& authzid, const jid& who);
  /// Records a failure and answers it (maybe later); true if answered.
  bool auth_failed(const std::string& who);
  /// Runs `answer` now (true) or when the brute-force throttle allows.
  bool answer_auth(const std::string& account, std::function<void()> answer);
  void on_throttle_timer();
  void sasl_failure(const char* condition);
  void sasl_success(const jid& who, const std::string& additional);
  /// XEP-0077 before authentication; false: not a registration iq.
  bool preauth_register(const xml::element_ptr& e);

  // --- bind.cpp ---
  void on_bind_phase(const xml::element_ptr& e);
  void bind_resource(const xml::element& iq, const xml::element& bind);
};

} // namespace dja

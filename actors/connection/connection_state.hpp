#pragma once

// The state of one connection actor, split by protocol step:
// connection.cpp (stream header, features, stream errors, lifecycle; the
// bytes, TLS and the parser are its stream::pump),
// sasl.cpp (RFC 6120 §6, PLAIN, SCRAM), sasl_mechanisms.cpp (what is
// offered, where -PLUS is), bind.cpp (RFC 6120 §7).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/response_promise.hpp>

#include "common/jid.hpp"
#include "common/messages.hpp"
#include "common/server_context.hpp"
#include "common/scram.hpp"
#include "connection/connection.hpp"
#include "stream/pump.hpp"

namespace dja {

using throttle_atom = caf::atom_constant<caf::atom("throttle")>;

/// connection -> itself: look whether a bound stream idled too long.
using c2s_ping_atom = caf::atom_constant<caf::atom("c2sping")>;

struct connection_state : stream::events {
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
  /// Bytes, TLS, parser, writes and close (set by connection_actor).
  std::optional<stream::pump> pump;
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
  /// XEP-0199 ping of an idle bound stream: its id while unanswered.
  uint32_t pings = 0;
  bool ping_out = false;
  std::chrono::steady_clock::time_point ping_sent;
  /// The client stopped reading (limits.write_buffer): the socket is
  /// gone; stanzas from the session go back to it (msg::undelivered).
  bool overflowed = false;
  /// msg::to_client requests (the session's offline messages) answered
  /// once the kernel has taken the stanza's last byte (`end`, see
  /// stream::pump::queued_total()), with an error if the stream is cut
  /// first: the session then keeps the stanza stored.
  struct written_promise {
    uint64_t end;
    caf::response_promise rp;
  };
  std::vector<written_promise> written_promises;
  int sasl_failures = 0;
  bool plain_needs_response = false; ///< PLAIN sent without initial data
  std::string sasl_mech;                        ///< for the log
  std::string sasl_cb; ///< channel-binding type of a -PLUS login, for the log
  std::unique_ptr<scram::server_exchange> scram; ///< a SCRAM in progress
  jid scram_user; ///< empty: unknown user (the exchange will fail)
  /// The client asked for a channel-binding type we cannot provide.
  bool cb_type_mismatch = false;
  std::function<void()> held_answer; ///< held back by the auth throttle
  /// XEP-0198 on this stream (sm.cpp). The stanzas sent and not yet
  /// acknowledged are held by the pump (stream::pump::keep_until_acked).
  struct sm_stream {
    bool enabled = false;
    uint32_t handled = 0;   ///< stanzas received since <enabled/>, mod 2^32
    uint32_t acked = 0;     ///< the client's last 'h'
    bool requested = false; ///< an <r/> of ours is unanswered
    bool timer = false;     ///< an sm_request_atom is on its way
  } sm;
  /// The connection died (socket closed, TLS error, a client that does
  /// not read or answer pings), as opposed to a close or a stream error:
  /// a session with resumption waits for the client (XEP-0198 §5).
  bool lost = false;
  /// A <resume/> waits for the session's answer: the connection lives
  /// until it comes, even if the socket goes.
  bool resuming = false;
  /// An `http` listener's connection (http.cpp): its settings; null for
  /// plain c2s.
  std::shared_ptr<const web::settings> web;
  bool http_keep_alive = false; ///< of the request being answered

  // --- connection.cpp ---
  // stream::events
  void on_stream_open(const xml::stream_header& h) override;
  void on_stream_stanza(const xml::element_ptr& e) override;
  void on_stream_close() override;
  void on_stream_bad_xml(const char* condition) override;
  void on_stream_lost(const std::string& why, bool overflow) override;
  /// The TLS session, once started.
  tls::session* tls() const { return pump->tls(); }
  /// STARTTLS is on offer: the vhost has a certificate, TLS not started.
  bool tls_possible() const;
  /// Nothing but STARTTLS before TLS.
  bool tls_required() const;
  /// SASL PLAIN may be offered on this stream now.
  bool plain_allowed() const;
  void start_tls(SSL_CTX* ctx);
  void on_stanza(const xml::element_ptr& e);
  void send_header(const std::string& from);
  void send_features();
  void write(const std::string& text);
  void write(const xml::element& e);
  /// A stanza from the session: handed back to it if the client stops
  /// reading before the kernel has taken it (stream::pump::write).
  void write_kept(const xml::element_ptr& e);
  /// Answers the written_promises the kernel has caught up with (all of
  /// them, with an error, when `cut`).
  void answer_written(bool cut = false);
  /// Sends the stream error (after our header if not yet sent), closes.
  void fail(const std::string& condition, const std::string& text = {});
  /// The same with the whole error already written (`last_words`).
  void fail_with(const std::string& condition, const std::string& last_words);
  /// After the socket is gone: the session gets what was not delivered
  /// (msg::undelivered) until it ends or sends closed_atom.
  void hold_for_session();
  /// Ends the connection (stream already closed or failed).
  void shut(const char* reason);
  void resume(); ///< an asynchronous step finished: go on with the backlog
  /// The negotiation timer (idle_atom).
  void on_idle_timer();
  /// The idle check of a bound stream (limits.c2s_idle_timeout /
  /// c2s_ping_timeout, XEP-0199 §4.2), after `after`.
  void arm_ping_timer(caf::timespan after);
  void on_ping_timer();

  // --- http.cpp (docs/web.md) ---
  void on_http_request(web::request& req) override;
  /// Writes `r`, then the next request or the close.
  void http_reply(const web::response& r, bool head);
  void websocket_upgrade(const web::request& req);
  /// An HTTP connection that never became a WebSocket.
  bool http_only() const { return web && !pump->websocket(); }

  // --- sasl.cpp, sasl_mechanisms.cpp ---
  std::vector<std::string> offered_mechanisms() const;
  /// SCRAM-*-PLUS and XEP-0440 offered on this connection (TLS, a
  /// channel binding, the listener's sasl_channel_binding mode).
  bool plus_enabled() const;
  bool plus_offered() const;
  /// The <text/> of a refused channel-binding type (RFC 5802 §7
  /// server-error-value, then what this connection offers).
  std::string unavailable_cb_text(const std::string& type) const;
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
  /// RFC 6120 §6.5: <failure/> with `condition` and an optional <text/>.
  void sasl_failure(const char* condition, std::string_view text = {});
  void sasl_success(const jid& who, const std::string& additional);
  /// XEP-0077 before authentication; false: not a registration iq.
  bool preauth_register(const xml::element_ptr& e);

  // --- sm.cpp (XEP-0198) ---
  /// An element of urn:xmpp:sm:3 (true) in any phase, handled; false:
  /// not one.
  bool on_sm(const xml::element& e);
  void sm_enable(const xml::element& e);
  void sm_ack(const xml::element& e);
  void sm_resume(const xml::element& e);
  void sm_resumed(msg::sm_resumed& r, const caf::actor& s, uint32_t h,
                  const std::string& previd);
  /// <failed/> with a stanza error condition (XEP-0198 §6).
  void sm_failed(const char* condition, const std::string& h = {},
                 const std::string& text = {});
  /// After a counted stanza went out: max_unacked, and <r/> now or soon.
  void sm_counted();
  void on_sm_request_timer();
  /// A stanza to the client: counted and held under XEP-0198.
  void write_stanza(const xml::element_ptr& e, bool keep);

  // --- bind.cpp ---
  void on_bind_phase(const xml::element_ptr& e);
  void bind_resource(const xml::element& iq, const xml::element& bind);
};

} // namespace dja

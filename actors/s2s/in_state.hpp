#pragma once

// The state of one incoming s2s stream, split by protocol step:
// s2s_in.cpp (stream header, features, stanzas and their
// addressing checks, stream errors) and s2s_in_auth.cpp (STARTTLS, SASL
// EXTERNAL, dialback as receiving and as authoritative server). Bytes,
// TLS and the parser are its stream::pump.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <caf/io/broker.hpp>

#include "common/server_context.hpp"
#include "s2s/s2s.hpp"
#include "s2s/settings.hpp"
#include "stream/pump.hpp"

namespace dja::s2s {

struct in_state : stream::events {
  static inline const char* name = "s2s.in";

  enum class phase : uint8_t { header, open, closed };

  in_broker* self = nullptr;
  caf::io::connection_handle hdl;
  context_ptr ctx;
  const settings* cfg = nullptr;
  std::optional<stream::pump> pump;
  std::string remote_addr; ///< ip:port, for the log
  phase ph = phase::header;
  bool header_sent = false;
  std::string stream_id; ///< ours, new at every (re)start
  std::string local;     ///< the header's `to`: one of our domains
  std::string peer;      ///< the header's `from` (may be empty)
  bool sasl_done = false;
  bool header_logged = false;
  /// (remote domain, local domain) pairs authenticated on this stream.
  std::set<std::pair<std::string, std::string>> pairs;
  int verifies_pending = 0;

  // --- s2s_in.cpp ---
  // stream::events
  void on_stream_open(const xml::stream_header& h) override;
  void on_stream_stanza(const xml::element_ptr& e) override;
  void on_stream_close() override;
  void on_stream_bad_xml(const char* condition) override;
  void on_stream_lost(const std::string& why, bool overflow) override;
  tls::session* tls() const { return pump->tls(); }
  void send_header();
  void send_features();
  void on_stanza(const xml::element_ptr& e);
  void on_routable(const xml::element_ptr& e);
  void write(const std::string& text);
  void fail(const std::string& condition, const std::string& text = {});
  void shut(const std::string& reason);
  bool tls_possible() const;

  // --- s2s_in_auth.cpp ---
  void on_starttls();
  void on_sasl(const xml::element& e);
  void on_db_result(const xml::element& e);
  void on_db_verify(const xml::element& e);
  void authenticated(const std::string& domain, const std::string& ours,
                     const char* how);
};

} // namespace dja::s2s

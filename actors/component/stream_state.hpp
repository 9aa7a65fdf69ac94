#pragma once

// The state of one component stream (XEP-0114), split by protocol step:
// stream.cpp (header, handshake, stream errors, the behavior) and
// route.cpp (the stanzas of an authenticated component, both ways).
// Bytes, TLS and the parser are its stream::pump.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/io/broker.hpp>

#include "common/server_context.hpp"
#include "common/xml.hpp"
#include "component/component.hpp"
#include "stream/pump.hpp"

namespace dja::component {

struct stream_state : stream::events {
  static inline const char* name = "component";

  /// header: waiting for the component's stream header; handshake: for
  /// its <handshake/>; asking: the plugin is checking it; open: the
  /// component serves `domain`.
  enum class phase : uint8_t { header, handshake, asking, open, closed };

  broker* self = nullptr;
  caf::io::connection_handle hdl;
  context_ptr ctx;
  std::optional<stream::pump> pump;
  std::string remote; ///< ip:port, for the log
  phase ph = phase::header;
  bool header_sent = false;
  std::string stream_id;
  const vhost_info* vhost = nullptr; ///< the header's `to`, if served here
  std::string domain;                ///< its domain
  caf::actor plugin; ///< the domain's component plugin (component.hpp)
  uint64_t stanzas_in = 0;
  uint64_t stanzas_out = 0;
  /// Stanzas for the component that arrived while `asking` (its plugin
  /// took it before the vhost's answer reached us): written after
  /// <handshake/>.
  std::vector<xml::element_ptr> early;

  // --- stream.cpp ---
  // stream::events
  void on_stream_open(const xml::stream_header& h) override;
  void on_stream_stanza(const xml::element_ptr& e) override;
  void on_stream_close() override;
  void on_stream_bad_xml(const char* condition) override;
  void on_stream_lost(const std::string& why, bool overflow) override;
  void send_header();
  void on_handshake(const xml::element& e);
  void fail(const std::string& condition, const std::string& text = {});
  void shut(const std::string& reason);

  // --- route.cpp ---
  /// A stanza from the component (XEP-0114 §3: after the handshake).
  void from_component(const xml::element_ptr& e);
  /// Routes a checked stanza of the component into the server.
  void route(const xml::element_ptr& stanza, const jid& from, const jid& to);
  /// A stanza for the component's domain (its plugin, or another node).
  void to_component(const xml::element_ptr& e);
  /// A stanza error to the component itself (a stanza it sent that
  /// cannot be routed).
  void reply_error(const xml::element& e, const char* condition,
                   const std::string& text = {});
  /// The stanzas written and not taken by the kernel when the component
  /// stopped reading: their senders get an error (RFC 6120 §8.3.3.19).
  void bounce_unwritten();
};

} // namespace dja::component

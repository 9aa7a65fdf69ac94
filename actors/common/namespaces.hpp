#pragma once

// XML namespaces used by the core.

namespace dja::ns {

constexpr const char* client = "jabber:client";
constexpr const char* stream = "http://etherx.jabber.org/streams";
constexpr const char* streams_err = "urn:ietf:params:xml:ns:xmpp-streams";
constexpr const char* stanzas_err = "urn:ietf:params:xml:ns:xmpp-stanzas";
constexpr const char* sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr const char* tls = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr const char* bind = "urn:ietf:params:xml:ns:xmpp-bind";
constexpr const char* session = "urn:ietf:params:xml:ns:xmpp-session";
constexpr const char* disco_info = "http://jabber.org/protocol/disco#info";
constexpr const char* disco_items = "http://jabber.org/protocol/disco#items";
constexpr const char* ping = "urn:xmpp:ping";
constexpr const char* version = "jabber:iq:version";
constexpr const char* blocking = "urn:xmpp:blocking";               // XEP-0191
constexpr const char* blocking_errors = "urn:xmpp:blocking:errors"; // XEP-0191
constexpr const char* carbons = "urn:xmpp:carbons:2";               // XEP-0280
constexpr const char* forward = "urn:xmpp:forward:0";               // XEP-0297
constexpr const char* hints = "urn:xmpp:hints";                     // XEP-0334
constexpr const char* csi = "urn:xmpp:csi:0";                       // XEP-0352
constexpr const char* chatstates = "http://jabber.org/protocol/chatstates";
constexpr const char* muc_user = "http://jabber.org/protocol/muc#user";

} // namespace dja::ns

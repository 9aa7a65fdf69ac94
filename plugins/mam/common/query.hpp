#pragma once

// The XEP-0313 wire format of the mam plugins, without any storage: the
// query (its data form, XEP-0059 <set/>, flip-page), XEP-0082 dates, the
// form the server offers, preferences (§6), and the stanzas of an answer
// (<result/> messages, <fin/>, metadata). plugins/mam/serve.cpp runs
// them over a backend.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/jid.hpp"
#include "common/xml.hpp"
#include "plugins/mam/serve.hpp"

namespace dja::plugins::mam {

constexpr const char* ns_mam = "urn:xmpp:mam:2";
constexpr const char* ns_mam_extended = "urn:xmpp:mam:2#extended";
constexpr const char* ns_rsm = "http://jabber.org/protocol/rsm";
constexpr const char* ns_forward = "urn:xmpp:forward:0";
constexpr const char* ns_delay = "urn:xmpp:delay";
constexpr const char* ns_xdata = "jabber:x:data";

/// XEP-0082 DateTime -> µs since the epoch (fractions and a zone offset
/// allowed); nullopt when malformed.
std::optional<int64_t> parse_stamp(const std::string& s);

/// µs since the epoch -> XEP-0082 DateTime in UTC with microseconds.
std::string format_stamp(int64_t us);

/// A parsed <query/> (XEP-0313 §4.1, XEP-0059 §2).
struct query {
  std::string queryid;   ///< "" when the client gave none
  filter base;           ///< with, start, end, ids (no paging bounds)
  std::optional<std::string> after_id;  ///< form field after-id
  std::optional<std::string> before_id; ///< form field before-id
  std::optional<int64_t> max;           ///< <set><max/>
  std::optional<std::string> after;     ///< <set><after/>
  std::optional<std::string> before;    ///< <set><before/>; "" = last page
  std::optional<int64_t> index;         ///< <set><index/>
  bool flip = false;                    ///< <flip-page/>
};

/// Parses the <query/> of an iq set; "" when well formed, else the
/// stanza error condition (bad-request for a malformed form, date, JID
/// or <set/>).
std::string parse_query(const xml::element& q, query& out);

/// The form of XEP-0313 §4.1.1 (an iq get of <query/>): FORM_TYPE,
/// with, start, end, and the #extended fields.
xml::element query_form();

/// XEP-0313 §6 archiving preferences.
struct prefs {
  std::string def = "always"; ///< always | never | roster
  std::vector<std::string> always; ///< bare JIDs
  std::vector<std::string> never;

  enum class verdict { keep, drop, ask_roster };
  /// What to do with a message exchanged with `contact` (bare).
  verdict decide(const std::string& contact) const;
};

/// Parses a <prefs/> (set by a client, or stored); "" when valid, else
/// the stanza error condition.
std::string parse_prefs(const xml::element& p, prefs& out);

/// <prefs xmlns='urn:xmpp:mam:2' default=...><always/><never/></prefs>.
xml::element prefs_element(const prefs& p);

/// <message to=requester from=archive><result queryid= id=><forwarded>
/// <delay stamp=/>`stanza`</forwarded></result></message>.
xml::element_ptr result_message(const jid& requester, const jid& archive,
                                const std::string& queryid, const row& r,
                                const xml::element& stanza);

/// The iq result with <fin complete=><set><first/><last/><count/></set>
/// </fin> (XEP-0313 §4.3, XEP-0059 §2.6); `first`/`last` empty: none.
xml::element_ptr fin(const xml::element& iq, bool complete,
                     const std::string& first, const std::string& last,
                     int64_t count);

} // namespace dja::plugins::mam

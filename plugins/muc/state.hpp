#pragma once

// The state of one XEP-0045 room, owned by its room actor (room.cpp):
// its configuration (§10.2, config_form.cpp), the affiliations (§5.2,
// admin.cpp), the occupants (§7, occupants.cpp), the subject and the
// discussion history (§7.2.14, §7.2.15, messages.cpp). The logic is
// plain functions over this struct that push the stanzas to send into
// `out`; the actor routes them. So the unit test
// (tests/plugins/muc/room_test.cpp) drives a room without a router.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/jid.hpp"
#include "common/xml.hpp"

namespace dja::plugins::muc {

constexpr const char* ns_muc = "http://jabber.org/protocol/muc";
constexpr const char* ns_user = "http://jabber.org/protocol/muc#user";
constexpr const char* ns_admin = "http://jabber.org/protocol/muc#admin";
constexpr const char* ns_owner = "http://jabber.org/protocol/muc#owner";
constexpr const char* ns_xdata = "jabber:x:data";
constexpr const char* ns_occupant_id = "urn:xmpp:occupant-id:0";
constexpr const char* ns_delay = "urn:xmpp:delay";
constexpr const char* ns_conference = "jabber:x:conference"; // XEP-0249

/// §5.2 affiliations, most privileged first.
enum class affiliation : uint8_t { owner, admin, member, none, outcast };
/// §5.1 roles.
enum class role : uint8_t { moderator, participant, visitor, none };

const char* name_of(affiliation a);
const char* name_of(role r);
/// "owner" -> affiliation::owner; false when not a name.
bool parse(const std::string& s, affiliation& out);
bool parse(const std::string& s, role& out);

/// §10.2 muc#roomconfig (the subset config_form.cpp offers).
struct room_config {
  std::string name;
  std::string description;
  bool persistent = false;
  bool members_only = false;
  bool moderated = false;
  bool is_public = true;
  bool whois_anyone = false; ///< non-anonymous (§7.2.3 status 100)
  bool password_protected = false;
  std::string password;
  uint32_t max_users = 200;
  uint32_t history_length = 20;
  bool allow_pm = true;       ///< muc#roomconfig_allowpm (anyone)
  bool allow_invites = false; ///< members may invite (members-only)
  bool change_subject = false; ///< participants may change the subject
};

/// One occupant (§7.2): kept small, no copy of a stanza besides the
/// client's own last presence (shared with the router's path).
struct occupant {
  jid real;               ///< the full JID of the session in the room
  role r = role::participant;
  xml::element_ptr presence; ///< the client's last available presence
};

/// One message kept for history and the room archive.
struct archived {
  int64_t stamp_us = 0;
  std::string id;         ///< XEP-0359 stanza-id
  std::string nick;
  xml::element_ptr stanza; ///< as broadcast, without `to`
};

/// A stanza to route.
struct outgoing {
  xml::element_ptr stanza;
  jid from;
  jid to;
};

/// How many rooms of the service each account is in (plugin option
/// `max_rooms_joined`): one count per bare JID and room entered (each
/// resource counts), shared by the room actors (any thread).
class occupancy {
public:
  explicit occupancy(uint32_t max) : max_(max) {
  }
  /// `bare` enters a room: false (nothing counted) when it is in `max`
  /// already; 0 = no bound.
  bool enter(const std::string& bare);
  void leave(const std::string& bare);
  uint32_t of(const std::string& bare) const;
  uint32_t max() const {
    return max_;
  }

private:
  uint32_t max_;
  mutable std::mutex mx_;
  std::unordered_map<std::string, uint32_t> n_;
};

struct room_state {
  jid room;                ///< the bare room JID
  room_config config;
  /// Bare JID -> affiliation (absent: none).
  std::map<std::string, affiliation> affiliations;
  /// Nick -> occupant, and the real full JID -> nick.
  std::map<std::string, occupant> occupants;
  std::unordered_map<std::string, std::string> by_real;
  std::string subject;
  std::string subject_nick;
  std::deque<archived> history; ///< the last `archive_max` messages
  uint32_t archive_max = 100;   ///< plugin option archive_size
  /// Plugin option archive_save_ms: new messages of a persistent room
  /// are stored within this long (0: only when it hibernates).
  uint32_t archive_save_ms = 2000;
  /// Created for the presence being handled: its sender will own it.
  bool fresh = false;
  /// The configuration of a new room (plugin options).
  room_config defaults;
  /// Plugin option lock_new_rooms: new rooms wait for their
  /// configuration (§10.1.1).
  bool lock_new = true;
  /// §10.1.1: a new room is locked until its owner configures it.
  bool locked = false;
  /// Destroyed (§10.9): the actor quits and the stored room is removed.
  bool destroyed = false;
  /// Config, affiliations or subject changed since the last save.
  bool dirty = false;
  std::string salt;        ///< XEP-0421 occupant ids
  /// Service administrators (plugin option `admins`, bare JIDs): owners
  /// of every room.
  std::shared_ptr<const std::vector<std::string>> admins;
  uint32_t max_history_fetch = 50;
  /// Rooms per account (null: not counted, e.g. the unit tests).
  std::shared_ptr<occupancy> joined;
  std::vector<outgoing> out;

  // -- helpers (room.cpp) ---------------------------------------------------
  affiliation affiliation_of(const jid& real) const;
  /// The occupant of `real` (a full JID) or nullptr.
  const std::string* nick_of(const jid& real) const;
  jid occupant_jid(const std::string& nick) const;
  /// XEP-0421: a stable id per real bare JID.
  std::string occupant_id(const jid& real) const;
  void send(xml::element_ptr s, const jid& from, const jid& to);
  /// The error reply to `s` (from the room side).
  void error(const xml::element& s, const jid& from, const char* cond,
             const char* text = "");
  /// The moderator sees real JIDs (§7.2.3 / whois).
  bool sees_jids(const occupant& viewer) const;
  bool empty() const {
    return occupants.empty();
  }
  /// The occupant `real` left (occupancy count).
  void left(const jid& real) {
    if (joined)
      joined->leave(real.bare_str());
  }
};

// -- room.cpp: the entry point ----------------------------------------------

/// A stanza `s` from `from` to the room or an occupant (`to`).
void handle(room_state& st, const xml::element_ptr& s, const jid& from,
            const jid& to);

// -- occupants.cpp (§7.2, §7.6, §7.14) --------------------------------------

void on_presence(room_state& st, const xml::element_ptr& s, const jid& from,
                 const jid& to);
/// The presence of occupant `o` as `viewer` sees it, with `codes`;
/// unavailable when its role is none, its presence unavailable or
/// `extra` (the <item/> to use, e.g. with a new nick) is given.
xml::element_ptr occupant_presence(const room_state& st, const occupant& o,
                                   const occupant* viewer,
                                   const std::vector<int>& codes,
                                   const xml::element* extra = nullptr);
/// Removes `nick` and tells everyone (kick, ban, leave): `codes` on the
/// unavailable presence, `reason` / `actor` in its <item/>.
void remove_occupant(room_state& st, const std::string& nick,
                     const std::vector<int>& codes,
                     const std::string& reason = {},
                     const std::string& actor = {});
/// Tells every occupant the new presence of `nick` (role/affiliation).
void broadcast_presence(room_state& st, const std::string& nick,
                        const std::vector<int>& codes = {});
/// §7.2: the room goes away under its occupants (a cluster node gave it
/// up): unavailable with status 110 and 332 ("removed because of a
/// system shutdown") to each, so clients join again; no occupant left.
void shut_down(room_state& st);
/// That presence (no `from`/`to`), also sent by a node on behalf of a
/// room whose node died (service.cpp).
xml::element_ptr shutdown_presence();
/// §7.2.3: the default role of someone with affiliation `a`.
role default_role(const room_state& st, affiliation a);

// -- messages.cpp (§7.4 - §7.5, §8.1, history) ------------------------------

void on_message(room_state& st, const xml::element_ptr& s, const jid& from,
                const jid& to);
/// §7.2.15: the history the new occupant `o` asked for in `x`.
void send_history(room_state& st, const occupant& o,
                  const xml::element* muc_x);
/// The subject message (§7.2.16).
void send_subject(room_state& st, const jid& to);

// -- iq.cpp (disco §6, ping, dispatch) --------------------------------------

void on_iq(room_state& st, const xml::element_ptr& s, const jid& from,
           const jid& to);
/// The XEP-0030 features of the room.
std::vector<std::string> room_features(const room_state& st);

// -- admin.cpp (§8, §9: muc#admin) ------------------------------------------

void on_admin(room_state& st, const xml::element_ptr& s, const jid& from,
              const occupant* actor);

// -- config_form.cpp (§10: muc#owner) ---------------------------------------

void on_owner(room_state& st, const xml::element_ptr& s, const jid& from);

// -- stored.cpp: the stored room --------------------------------------------

/// The room as one XML document (config, affiliations, subject, salt).
std::string to_stored(const room_state& st);
/// Reads `doc` into `st`; false when it does not parse.
bool from_stored(room_state& st, const std::string& doc);

} // namespace dja::plugins::muc

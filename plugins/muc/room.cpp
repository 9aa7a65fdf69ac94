// The room's helpers (state.hpp) and the dispatch of a stanza by kind:
// XEP-0045 §7 presence (occupants.cpp), messages (messages.cpp) and iqs
// (iq.cpp). Also the names of roles and affiliations (§5) and the
// XEP-0421 occupant ids.

#include <algorithm>
#include <array>
#include <cstdio>

#include <openssl/sha.h>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "plugins/muc/state.hpp"

namespace dja::plugins::muc {

namespace {

constexpr std::array<const char*, 5> affiliation_names{
  "owner", "admin", "member", "none", "outcast"};
constexpr std::array<const char*, 4> role_names{"moderator", "participant",
                                                "visitor", "none"};

} // namespace

const char* name_of(affiliation a) {
  return affiliation_names[static_cast<size_t>(a)];
}

const char* name_of(role r) {
  return role_names[static_cast<size_t>(r)];
}

bool parse(const std::string& s, affiliation& out) {
  for (size_t i = 0; i < affiliation_names.size(); ++i)
    if (s == affiliation_names[i]) {
      out = static_cast<affiliation>(i);
      return true;
    }
  return false;
}

bool parse(const std::string& s, role& out) {
  for (size_t i = 0; i < role_names.size(); ++i)
    if (s == role_names[i]) {
      out = static_cast<role>(i);
      return true;
    }
  return false;
}

affiliation room_state::affiliation_of(const jid& real) const {
  auto bare = real.bare_str();
  if (admins
      && std::find(admins->begin(), admins->end(), bare) != admins->end())
    return affiliation::owner;
  auto i = affiliations.find(bare);
  return i == affiliations.end() ? affiliation::none : i->second;
}

const std::string* room_state::nick_of(const jid& real) const {
  auto i = by_real.find(real.str());
  return i == by_real.end() ? nullptr : &i->second;
}

jid room_state::occupant_jid(const std::string& nick) const {
  return room.with_resource(nick);
}

std::string room_state::occupant_id(const jid& real) const {
  // XEP-0421 §3: stable for one real bare JID in one room, and not
  // revealing it: a hash under the room's own random salt.
  auto in = salt + '\n' + room.bare_str() + '\n' + real.bare_str();
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  std::string out;
  char buf[3];
  for (int i = 0; i < 16; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", md[i]);
    out += buf;
  }
  return out;
}

void room_state::send(xml::element_ptr s, const jid& from, const jid& to) {
  if (s->attr("from") == nullptr || s->attr("to") == nullptr) {
    // The wire needs them (RFC 6120 §8.1.1, §8.1.2); a stanza built
    // here gets them now, one the room passes on has them already.
    auto c = std::make_shared<xml::element>(*s);
    c->set_attr("from", from.str());
    c->set_attr("to", to.str());
    s = std::move(c);
  }
  out.push_back(outgoing{std::move(s), from, to});
}

void room_state::error(const xml::element& s, const jid& from,
                       const char* cond, const char* text) {
  if (errors::is_error(s))
    return; // RFC 6120 §8.3.1: never answer an error with an error
  auto reply = errors::stanza_error(s, cond, text);
  out.push_back(outgoing{std::move(reply), jid::parse(s.attr_or("to"))
                                             .value_or(room),
                         from});
}

bool room_state::sees_jids(const occupant& viewer) const {
  return config.whois_anyone || viewer.r == role::moderator;
}

void handle(room_state& st, const xml::element_ptr& s, const jid& from,
            const jid& to) {
  if (st.fresh && s->name != "presence")
    // A room that does not exist yet (or was just destroyed): only a
    // presence of entry creates it (§10.1.1).
    return st.error(*s, from, "item-not-found");
  if (s->name == "presence")
    on_presence(st, s, from, to);
  else if (s->name == "message")
    on_message(st, s, from, to);
  else if (s->name == "iq")
    on_iq(st, s, from, to);
}

} // namespace dja::plugins::muc

namespace dja::plugins::muc {

bool occupancy::enter(const std::string& bare) {
  std::lock_guard<std::mutex> g{mx_};
  auto& n = n_[bare];
  if (max_ > 0 && n >= max_)
    return false;
  ++n;
  return true;
}

void occupancy::leave(const std::string& bare) {
  std::lock_guard<std::mutex> g{mx_};
  auto i = n_.find(bare);
  if (i == n_.end())
    return;
  if (--i->second == 0)
    n_.erase(i);
}

uint32_t occupancy::of(const std::string& bare) const {
  std::lock_guard<std::mutex> g{mx_};
  auto i = n_.find(bare);
  return i == n_.end() ? 0 : i->second;
}

} // namespace dja::plugins::muc

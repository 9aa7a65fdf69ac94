// XEP-0313 queries to a room (archive.hpp): §4.1 filters (start, end,
// with = an occupant's room JID, ids, after-id / before-id), XEP-0059
// <max/>, <after/>, <before/> (empty: the last page), flip-page, over
// the messages the room keeps in memory (and stores when it hibernates).

#include <algorithm>

#include "common/errors.hpp"
#include "plugins/mam/common/query.hpp"
#include "plugins/muc/archive.hpp"

namespace dja::plugins::muc {

namespace {

constexpr int64_t default_page = 50;
constexpr int64_t max_page = 250;

bool matches(const room_state& st, const archived& a,
             const mam::query& q) {
  auto& f = q.base;
  if (a.stamp_us < f.start_us || a.stamp_us > f.end_us)
    return false;
  if (!f.with_bare.empty()) {
    // XEP-0313 §6.1.1: `with` in a MUC archive is an occupant's JID.
    if (f.with_bare != st.room.bare_str()
        || (f.with_resource && *f.with_resource != a.nick))
      return false;
  }
  return f.ids.empty()
         || std::find(f.ids.begin(), f.ids.end(), a.id) != f.ids.end();
}

/// The position of the message `id` in `sel` (npos: none).
size_t position(const room_state& st, const std::vector<size_t>& sel,
                const std::string& id) {
  for (size_t i = 0; i < sel.size(); ++i)
    if (st.history[sel[i]].id == id)
      return i;
  return std::string::npos;
}

} // namespace

void on_archive_query(room_state& st, const xml::element_ptr& s,
                      const jid& from) {
  auto q = s->first_element();
  auto type = s->attr_or("type");
  if (st.config.members_only
      && st.affiliation_of(from) == affiliation::none)
    return st.error(*s, from, "forbidden", "the archive is for members");
  if (type == "get" && q->name == "query") { // §4.1.1: the form
    auto reply = std::make_shared<xml::element>(errors::iq_result(*s));
    reply->add_child(xml::element{"query", mam::ns_mam})
      .add_child(mam::query_form());
    return st.send(reply, st.room, from);
  }
  if (type != "set" || q->name != "query")
    return st.error(*s, from, "feature-not-implemented");
  mam::query mq;
  if (auto err = mam::parse_query(*q, mq); !err.empty())
    return st.error(*s, from, err.c_str());
  std::vector<size_t> sel;
  for (size_t i = 0; i < st.history.size(); ++i)
    if (matches(st, st.history[i], mq))
      sel.push_back(i);
  size_t lo = 0;
  size_t hi = sel.size(); // [lo, hi)
  auto cut = [&](const std::optional<std::string>& id, bool after) {
    if (!id)
      return true;
    auto p = position(st, sel, *id);
    if (p == std::string::npos)
      return false;
    if (after)
      lo = std::max(lo, p + 1);
    else
      hi = std::min(hi, p);
    return true;
  };
  if (!cut(mq.after_id, true) || !cut(mq.before_id, false)
      || !cut(mq.after, true)
      || !cut(mq.before && !mq.before->empty() ? mq.before
                                               : std::nullopt,
              false))
    return st.error(*s, from, "item-not-found", "no such message");
  lo = std::min(lo, hi);
  auto max = std::min(mq.max.value_or(default_page), max_page);
  auto n = std::min<size_t>(hi - lo, static_cast<size_t>(std::max<int64_t>(
                                       max, 0)));
  bool backward = mq.before.has_value();
  size_t first = backward ? hi - n : lo;
  if (!backward && mq.index)
    first = std::min<size_t>(lo + static_cast<size_t>(*mq.index), hi - n);
  std::vector<size_t> page(sel.begin() + first, sel.begin() + first + n);
  bool complete = backward ? first == lo : first + n == hi;
  if (mq.flip)
    std::reverse(page.begin(), page.end());
  for (auto i : page) {
    auto& a = st.history[i];
    mam::row r;
    r.id = a.id;
    r.stamp_us = a.stamp_us;
    st.send(mam::result_message(from, st.room, mq.queryid, r, *a.stanza),
            st.room, from);
  }
  std::string first_id = page.empty() ? "" : st.history[page.front()].id;
  std::string last_id = page.empty() ? "" : st.history[page.back()].id;
  st.send(mam::fin(*s, complete, first_id, last_id,
                   static_cast<int64_t>(sel.size())),
          st.room, from);
}

} // namespace dja::plugins::muc

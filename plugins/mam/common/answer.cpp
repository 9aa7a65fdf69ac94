// archive.query over a backend (answer.hpp).

#include "plugins/mam/common/answer.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "common/stored_xml.hpp"

namespace dja::plugins::mam {

namespace {

using stanzas = std::vector<xml::element_ptr>;

stanzas error(const xml::element& iq, const char* cond) {
  return {errors::stanza_error(iq, cond)};
}

stanzas single(xml::element reply) {
  return {std::make_shared<xml::element>(std::move(reply))};
}

/// Resolves an archive id to its seq into `out`; false: unknown.
caf::expected<bool> resolve(backend& db, const std::string& user,
                            const std::string& id, int64_t& out) {
  auto s = db.seq_of(user, id);
  if (!s)
    return s.error();
  if (!*s)
    return false;
  out = **s;
  return true;
}

/// XEP-0313 §4: one page of results and the <fin/>.
caf::expected<stanzas> run(backend& db, const paging& pg,
                           const hooks::archive_query& r,
                           const xml::element& q) {
  const auto& iq = *r.stanza;
  query qu;
  if (auto cond = parse_query(q, qu); !cond.empty())
    return error(iq, cond.c_str());
  const auto& user = r.to.local();
  auto f = qu.base;
  // Form fields after-id / before-id (#extended) and XEP-0059 after /
  // before: an id not in the archive is <item-not-found/> (XEP-0059 §2.6).
  auto bound = [&](const std::optional<std::string>& id, bool after,
                   filter& into) -> caf::expected<bool> {
    if (!id || id->empty())
      return true;
    int64_t seq = 0;
    auto ok = resolve(db, user, *id, seq);
    if (!ok || !*ok)
      return ok;
    if (after)
      into.after_seq = std::max(into.after_seq, seq);
    else
      into.before_seq = std::min(into.before_seq, seq);
    return true;
  };
  for (auto [id, after] : {std::pair{&qu.after_id, true},
                           std::pair{&qu.before_id, false}}) {
    auto ok = bound(*id, after, f);
    if (!ok)
      return ok.error();
    if (!*ok)
      return error(iq, "item-not-found");
  }
  auto total = db.count(user, f);
  if (!total)
    return total.error();
  auto page = f;
  for (auto [id, after] : {std::pair{&qu.after, true},
                           std::pair{&qu.before, false}}) {
    auto ok = bound(*id, after, page);
    if (!ok)
      return ok.error();
    if (!*ok)
      return error(iq, "item-not-found");
  }
  auto limit = std::min(qu.max.value_or(pg.default_page), pg.max_page);
  bool backward = qu.before.has_value();
  int64_t offset = !qu.after && !qu.before ? qu.index.value_or(0) : 0;
  auto rows = db.select(user, page, limit + 1, backward, offset);
  if (!rows)
    return rows.error();
  bool complete = static_cast<int64_t>(rows->size()) <= limit;
  if (!complete)
    rows->resize(static_cast<size_t>(limit));
  if (backward) // the page itself is in chronological order
    std::reverse(rows->begin(), rows->end());
  if (qu.flip) // XEP-0313 §4.1.3
    std::reverse(rows->begin(), rows->end());
  stanzas out;
  out.reserve(rows->size() + 1);
  auto archive = r.to.bare();
  for (auto& row : *rows) {
    auto stored = xml::parse_stored(row.stanza);
    if (!stored) // unreadable: left out, the ids still page right
      continue;
    out.push_back(result_message(r.from, archive, qu.queryid, row, *stored));
  }
  std::string first, last;
  if (!rows->empty()) {
    first = rows->front().id;
    last = rows->back().id;
  }
  out.push_back(fin(iq, complete, first, last, *total));
  return out;
}

/// XEP-0313 §5.1 (#extended): the first and last message of the archive.
caf::expected<stanzas> metadata(backend& db, const hooks::archive_query& r) {
  auto reply = errors::iq_result(*r.stanza);
  auto& m = reply.add_child(xml::element{"metadata", ns_mam});
  for (bool backward : {false, true}) {
    auto rows = db.select(r.to.local(), filter{}, 1, backward, 0);
    if (!rows)
      return rows.error();
    if (rows->empty())
      break;
    m.add_child(xml::element{backward ? "end" : "start", ns_mam})
      .set_attr("id", rows->front().id)
      .set_attr("timestamp", format_stamp(rows->front().stamp_us));
  }
  return single(std::move(reply));
}

} // namespace

caf::expected<prefs> prefs_cache::get(const std::string& user) {
  if (auto i = cache_.find(user); i != cache_.end())
    return i->second;
  auto stored = db_.get_prefs(user);
  if (!stored)
    return stored.error();
  prefs p;
  p.def = def_;
  if (*stored)
    if (auto e = xml::parse_stored(**stored))
      parse_prefs(*e, p);
  if (cache_.size() >= max_cached)
    cache_.clear();
  cache_.emplace(user, p);
  return p;
}

caf::error prefs_cache::set(const std::string& user, const prefs& p) {
  if (auto err = db_.set_prefs(user, xml::to_string(prefs_element(p))))
    return err;
  cache_[user] = p;
  return {};
}

caf::expected<stanzas> answer(backend& db, prefs_cache& pc, const paging& pg,
                              const hooks::archive_query& r) {
  const auto& iq = *r.stanza;
  auto q = iq.first_element();
  auto type = iq.attr_or("type");
  // XEP-0313 §4: a user's archive is the user's alone.
  if (r.to.local().empty() || r.to.bare() != r.from.bare())
    return error(iq, "forbidden");
  if (q->name == "query" && type == "set")
    return run(db, pg, r, *q);
  if (q->name == "query" && type == "get") { // §4.1.1: the form
    auto reply = errors::iq_result(iq);
    reply.add_child(query_form());
    return single(std::move(reply));
  }
  if (q->name == "metadata" && type == "get")
    return metadata(db, r);
  if (q->name == "prefs") {
    auto user = r.to.local();
    prefs p;
    if (type == "set") {
      if (auto cond = parse_prefs(*q, p); !cond.empty())
        return error(iq, cond.c_str());
      if (auto err = pc.set(user, p))
        return err;
    } else {
      auto got = pc.get(user);
      if (!got)
        return got.error();
      p = std::move(*got);
    }
    auto reply = errors::iq_result(iq);
    reply.add_child(prefs_element(p));
    return single(std::move(reply));
  }
  return error(iq, "feature-not-implemented");
}

} // namespace dja::plugins::mam

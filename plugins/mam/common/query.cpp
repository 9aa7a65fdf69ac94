// The XEP-0313 wire format (query.hpp): parsing queries, dates and
// preferences; building forms, results, <fin/>.

#include "plugins/mam/common/query.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "common/errors.hpp"

namespace dja::plugins::mam {

namespace {

/// At most this many ids in an `ids` field (a bound on the SQL).
constexpr size_t max_ids = 100;

bool digits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size())
    return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i])))
      return false;
  return true;
}

int num(const std::string& s, size_t pos, size_t n) {
  return std::stoi(s.substr(pos, n));
}

std::vector<std::string> values(const xml::element& field) {
  std::vector<std::string> out;
  for (auto v : field.elements())
    if (v->name == "value")
      out.push_back(v->text());
  return out;
}

std::optional<int64_t> integer(const std::string& s) {
  if (s.empty() || s.size() > 15
      || !std::all_of(s.begin(), s.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(s);
}

/// The form's fields into `out`; "" or an error condition.
std::string parse_form(const xml::element& x, query& out) {
  for (auto f : x.elements()) {
    if (f->name != "field")
      continue;
    auto var = f->attr_or("var");
    auto vs = values(*f);
    auto one = [&]() -> const std::string* {
      return vs.size() == 1 ? &vs[0] : nullptr;
    };
    if (var == "FORM_TYPE") {
      if (!one() || *one() != ns_mam)
        return "bad-request";
    } else if (var == "with") {
      if (!one())
        return "bad-request";
      auto j = jid::parse(*one());
      if (!j)
        return "bad-request";
      out.base.with_bare = j->bare_str();
      if (j->is_full())
        out.base.with_resource = j->resource();
    } else if (var == "start" || var == "end") {
      if (!one())
        return "bad-request";
      auto t = parse_stamp(*one());
      if (!t)
        return "bad-request";
      (var == "start" ? out.base.start_us : out.base.end_us) = *t;
    } else if (var == "after-id" || var == "before-id") {
      if (!one())
        return "bad-request";
      (var == "after-id" ? out.after_id : out.before_id) = *one();
    } else if (var == "ids") {
      if (vs.empty() || vs.size() > max_ids)
        return "bad-request";
      out.base.ids = std::move(vs);
    } else {
      return "bad-request"; // full-text search and others: not offered
    }
  }
  return {};
}

/// XEP-0059 <set/> into `out`.
std::string parse_set(const xml::element& set, query& out) {
  for (auto c : set.elements()) {
    if (c->name == "max") {
      auto n = integer(c->text());
      if (!n)
        return "bad-request";
      out.max = *n;
    } else if (c->name == "after") {
      if (c->text().empty())
        return "bad-request"; // XEP-0059 §2.2: an id, never empty
      out.after = c->text();
    } else if (c->name == "before") {
      out.before = c->text();
    } else if (c->name == "index") {
      auto n = integer(c->text());
      if (!n)
        return "bad-request";
      out.index = *n;
    }
  }
  if (out.after && out.before)
    return "bad-request";
  return {};
}

} // namespace

std::optional<int64_t> parse_stamp(const std::string& s) {
  // CCYY-MM-DDThh:mm:ss[.sss]TZD, TZD = Z | (+|-)hh:mm
  if (!digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2)
      || s[7] != '-' || !digits(s, 8, 2) || s[10] != 'T' || !digits(s, 11, 2)
      || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':'
      || !digits(s, 17, 2))
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = num(s, 0, 4) - 1900;
  tm.tm_mon = num(s, 5, 2) - 1;
  tm.tm_mday = num(s, 8, 2);
  tm.tm_hour = num(s, 11, 2);
  tm.tm_min = num(s, 14, 2);
  tm.tm_sec = num(s, 17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23
      || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (s[pos] == '.') {
    size_t n = 0;
    ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (n < 6)
        frac = frac * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0)
      return std::nullopt;
    for (; n < 6; ++n)
      frac *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && s[pos] == 'Z' && pos + 1 == s.size()) {
    // UTC
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-')
             && digits(s, pos + 1, 2) && s[pos + 3] == ':'
             && digits(s, pos + 4, 2)) {
    offset = (num(s, pos + 1, 2) * 60 + num(s, pos + 4, 2)) * 60;
    if (s[pos] == '-')
      offset = -offset;
  } else {
    return std::nullopt;
  }
  auto t = static_cast<int64_t>(timegm(&tm)) - offset;
  return t * 1000000 + frac;
}

std::string format_stamp(int64_t us) {
  auto secs = static_cast<std::time_t>(us / 1000000);
  auto frac = static_cast<long>(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06ldZ", frac);
  return buf;
}

std::string parse_query(const xml::element& q, query& out) {
  out.queryid = q.attr_or("queryid");
  for (auto c : q.elements()) {
    std::string err;
    if (c->name == "x" && c->ns == ns_xdata)
      err = parse_form(*c, out);
    else if (c->name == "set" && c->ns == ns_rsm)
      err = parse_set(*c, out);
    else if (c->name == "flip-page" && c->ns == ns_mam)
      out.flip = true;
    if (!err.empty())
      return err;
  }
  return {};
}

xml::element query_form() {
  xml::element q{"query", ns_mam};
  auto& x = q.add_child(xml::element{"x", ns_xdata});
  x.set_attr("type", "form");
  auto field = [&x](const char* var, const char* type) -> xml::element& {
    auto& f = x.add_child(xml::element{"field", ns_xdata});
    f.set_attr("var", var);
    f.set_attr("type", type);
    return f;
  };
  field("FORM_TYPE", "hidden").add_child(xml::element{"value", ns_xdata})
    .add_text(ns_mam);
  field("with", "jid-single");
  field("start", "text-single");
  field("end", "text-single");
  field("before-id", "text-single"); // #extended
  field("after-id", "text-single");
  field("ids", "text-multi");
  return q;
}

prefs::verdict prefs::decide(const std::string& contact) const {
  if (std::find(never.begin(), never.end(), contact) != never.end())
    return verdict::drop;
  if (std::find(always.begin(), always.end(), contact) != always.end())
    return verdict::keep;
  if (def == "never")
    return verdict::drop;
  return def == "roster" ? verdict::ask_roster : verdict::keep;
}

std::string parse_prefs(const xml::element& p, prefs& out) {
  auto def = p.attr_or("default");
  if (def != "always" && def != "never" && def != "roster")
    return "bad-request";
  out = prefs{};
  out.def = def;
  for (auto list : p.elements()) {
    std::vector<std::string>* to = list->name == "always" ? &out.always
                                   : list->name == "never" ? &out.never
                                                           : nullptr;
    if (to == nullptr)
      continue;
    for (auto j : list->elements()) {
      if (j->name != "jid")
        continue;
      auto parsed = jid::parse(j->text());
      if (!parsed)
        return "jid-malformed";
      to->push_back(parsed->bare_str());
    }
  }
  return {};
}

xml::element prefs_element(const prefs& p) {
  xml::element e{"prefs", ns_mam};
  e.set_attr("default", p.def);
  auto list = [&e](const char* name, const std::vector<std::string>& js) {
    auto& l = e.add_child(xml::element{name, ns_mam});
    for (auto& j : js)
      l.add_child(xml::element{"jid", ns_mam}).add_text(j);
  };
  list("always", p.always);
  list("never", p.never);
  return e;
}

xml::element_ptr result_message(const jid& requester, const jid& archive,
                                const std::string& queryid, const row& r,
                                const xml::element& stanza) {
  auto m = std::make_shared<xml::element>("message", "jabber:client");
  m->set_attr("from", archive.str());
  m->set_attr("to", requester.str());
  auto& res = m->add_child(xml::element{"result", ns_mam});
  if (!queryid.empty())
    res.set_attr("queryid", queryid);
  res.set_attr("id", r.id);
  auto& fwd = res.add_child(xml::element{"forwarded", ns_forward});
  fwd.add_child(xml::element{"delay", ns_delay})
    .set_attr("stamp", format_stamp(r.stamp_us));
  fwd.add_child(stanza);
  return m;
}

xml::element_ptr fin(const xml::element& iq, bool complete,
                     const std::string& first, const std::string& last,
                     int64_t count) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(iq));
  auto& f = reply->add_child(xml::element{"fin", ns_mam});
  if (complete)
    f.set_attr("complete", "true");
  auto& set = f.add_child(xml::element{"set", ns_rsm});
  if (!first.empty()) {
    set.add_child(xml::element{"first", ns_rsm}).add_text(first);
    set.add_child(xml::element{"last", ns_rsm}).add_text(last);
  }
  set.add_child(xml::element{"count", ns_rsm})
    .add_text(std::to_string(count));
  return reply;
}

} // namespace dja::plugins::mam

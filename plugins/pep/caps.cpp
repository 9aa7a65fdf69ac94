// XEP-0115 Entity Capabilities for PEP (caps.hpp): §5.1 verification
// strings, the §5.4 check of a sha-1 ver, and the cache of verified
// feature sets.

#include "plugins/pep/caps.hpp"

#include <algorithm>
#include <tuple>
#include <vector>

#include "common/base64.hpp"
#include "common/crypto.hpp"

namespace dja::plugins::pep {

namespace {

constexpr const char* ns_data = "jabber:x:data";

/// §5.4 step 3.6: the values of a field, sorted, each followed by '<'.
std::string form_part(const xml::element& x) {
  std::string form_type;
  std::vector<std::pair<std::string, std::vector<std::string>>> fields;
  for (auto* f : x.elements()) {
    if (f->name != "field")
      continue;
    std::vector<std::string> vals;
    for (auto* v : f->elements())
      if (v->name == "value")
        vals.push_back(v->text());
    if (f->attr_or("var") == "FORM_TYPE") {
      form_type = vals.empty() ? "" : vals.front();
      continue;
    }
    std::sort(vals.begin(), vals.end());
    fields.emplace_back(f->attr_or("var"), std::move(vals));
  }
  std::sort(fields.begin(), fields.end());
  std::string s = form_type + "<";
  for (auto& [var, vals] : fields) {
    s += var + "<";
    for (auto& v : vals)
      s += v + "<";
  }
  return s;
}

std::string form_type_of(const xml::element& x) {
  for (auto* f : x.elements())
    if (f->name == "field" && f->attr_or("var") == "FORM_TYPE")
      if (auto* v = f->child("value"))
        return v->text();
  return {};
}

} // namespace

std::optional<caps_ref> caps_of(const xml::element& presence) {
  auto c = presence.child("c", ns_caps);
  if (c == nullptr || c->attr("ver") == nullptr || c->attr("node") == nullptr)
    return std::nullopt;
  return caps_ref{c->attr_or("node"), c->attr_or("ver"), c->attr_or("hash")};
}

std::string verification_string(const xml::element& query) {
  // §5.1 steps 2-4: identities by category/type/lang/name, features, then
  // the extended forms sorted by FORM_TYPE.
  std::vector<std::tuple<std::string, std::string, std::string, std::string>>
    ids;
  std::vector<std::string> features;
  std::vector<std::pair<std::string, std::string>> forms;
  for (auto* e : query.elements()) {
    if (e->name == "identity")
      ids.emplace_back(e->attr_or("category"), e->attr_or("type"),
                       e->attr_or("xml:lang"), e->attr_or("name"));
    else if (e->name == "feature")
      features.push_back(e->attr_or("var"));
    else if (e->name == "x" && e->ns == ns_data)
      forms.emplace_back(form_type_of(*e), form_part(*e));
  }
  std::sort(ids.begin(), ids.end());
  std::sort(features.begin(), features.end());
  std::sort(forms.begin(), forms.end());
  std::string s;
  for (auto& [cat, type, lang, name] : ids)
    s += cat + "/" + type + "/" + lang + "/" + name + "<";
  for (auto& f : features)
    s += f + "<";
  for (auto& f : forms)
    s += f.second;
  return s;
}

bool verified(const caps_ref& c, const xml::element& query) {
  if (c.hash != "sha-1")
    return false;
  auto digest = crypto::digest(crypto::hash_fn::sha1,
                               verification_string(query));
  return base64::encode(digest) == c.ver;
}

feature_set features_of(const xml::element& query) {
  auto out = std::make_shared<std::set<std::string>>();
  for (auto* e : query.elements())
    if (e->name == "feature")
      out->insert(e->attr_or("var"));
  return out;
}

void caps_cache::put(const std::string& ver, feature_set f) {
  if (capacity_ == 0 || sets_.count(ver) > 0)
    return;
  while (sets_.size() >= capacity_ && !order_.empty()) {
    sets_.erase(order_.front());
    order_.pop_front();
  }
  sets_.emplace(ver, std::move(f));
  order_.push_back(ver);
}

} // namespace dja::plugins::pep

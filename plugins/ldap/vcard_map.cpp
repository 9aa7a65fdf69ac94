// vCards from directory attributes (plugins/ldap/vcard_map.hpp).

#include "plugins/ldap/vcard_map.hpp"

#include <cctype>

#include "plugins/sql/driver.hpp"
#include "plugins/sql/vcard.hpp"

namespace dja::plugins::ldap {

namespace {

/// ejabberd's flat ldap_vcard_map names and their place (XEP-0054 §6).
const std::map<std::string, std::string>& flat_names() {
  static const std::map<std::string, std::string> names = {
    {"FAMILY", "N/FAMILY"},     {"GIVEN", "N/GIVEN"},
    {"MIDDLE", "N/MIDDLE"},     {"ORGNAME", "ORG/ORGNAME"},
    {"ORGUNIT", "ORG/ORGUNIT"}, {"CTRY", "ADR/CTRY"},
    {"LOCALITY", "ADR/LOCALITY"}, {"STREET", "ADR/STREET"},
    {"REGION", "ADR/REGION"},   {"PCODE", "ADR/PCODE"},
    {"EMAIL", "EMAIL/USERID"},  {"TEL", "TEL/NUMBER"},
  };
  return names;
}

bool is_element_name(const std::string& s) {
  if (s.empty())
    return false;
  for (unsigned char c : s)
    if (!std::isupper(c) && !std::isdigit(c) && c != '-')
      return false;
  return true;
}

/// RFC 4512 §2.5: a descriptor, with options (jpegPhoto;binary).
bool is_attribute(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0])))
    return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '-' && c != ';')
      return false;
  return true;
}

/// KEY as ELEMENT[/CHILD]; "" when it is not one.
std::string path_of(const std::string& key) {
  auto flat = flat_names().find(key);
  if (flat != flat_names().end())
    return flat->second;
  auto slash = key.find('/');
  if (slash == std::string::npos)
    return is_element_name(key) ? key : "";
  auto a = key.substr(0, slash);
  auto b = key.substr(slash + 1);
  return is_element_name(a) && is_element_name(b) ? key : "";
}

} // namespace

const std::map<std::string, std::string>& default_vcard_map() {
  static const std::map<std::string, std::string> m = {
    {"FN", "cn"},
    {"NICKNAME", "uid"},
    {"N/FAMILY", "sn"},
    {"N/GIVEN", "givenName"},
    {"EMAIL/USERID", "mail"},
    {"TEL/NUMBER", "telephoneNumber"},
    {"ORG/ORGNAME", "o"},
    {"ORG/ORGUNIT", "ou"},
    {"TITLE", "title"},
    {"DESC", "description"},
    {"PHOTO", "jpegPhoto"},
  };
  return m;
}

std::string check_vcard_map(const toml::node& v) {
  auto t = v.as_table();
  if (t == nullptr)
    return "a table of vCard elements to attributes, e.g. { FN = \"cn\", "
           "\"EMAIL/USERID\" = \"mail\", PHOTO = \"jpegPhoto\" }";
  for (auto& [k, val] : *t) {
    std::string key{k.str()};
    if (path_of(key).empty())
      return "vCard elements as ELEMENT or ELEMENT/CHILD in capitals "
             "(FN, N/GIVEN, EMAIL/USERID, PHOTO; got \"" + key + "\")";
    auto attr = val.value_or(std::string{});
    if (!is_attribute(attr))
      return "an LDAP attribute name for " + key + " (got \"" + attr + "\")";
  }
  return {};
}

std::pair<std::string, std::vector<std::string>>
vcard_template(const std::map<std::string, std::string>& map) {
  // ELEMENT -> its children (CHILD, attribute), or "" for its own text.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
    tree;
  std::vector<std::string> attrs;
  for (auto& [key, attr] : map) {
    auto path = path_of(key);
    if (path.empty())
      continue;
    auto slash = path.find('/');
    auto top = path.substr(0, slash);
    tree[top].emplace_back(
      slash == std::string::npos ? "" : path.substr(slash + 1), attr);
    attrs.push_back(attr);
  }
  std::string t = "<vCard xmlns='vcard-temp'>";
  for (auto& [top, kids] : tree) {
    t += "<" + top + ">";
    for (auto& [child, attr] : kids) {
      if (child.empty() && top == "PHOTO")
        t += "<TYPE>{" + attr + "|mime}</TYPE><BINVAL>{" + attr
             + "|base64}</BINVAL>";
      else if (child.empty())
        t += "{" + attr + "}";
      else
        t += "<" + child + ">{" + attr + "}</" + child + ">";
    }
    if (top == "EMAIL")
      t += "<INTERNET/>";
    t += "</" + top + ">";
  }
  t += "</vCard>";
  return {t, attrs};
}

xml::element_ptr render_vcard(const std::string& tmpl,
                              const std::vector<std::string>& attrs,
                              const entry& e) {
  sql::rows r;
  r.columns = attrs;
  sql::row values;
  for (auto& a : attrs)
    values.push_back(e.first(a));
  r.data.push_back(std::move(values));
  auto v = sql::render(tmpl, r, 0);
  if (v == nullptr)
    return v;
  // A photo whose bytes are no image type we know: jpegPhoto is JPEG.
  for (auto& n : v->children)
    if (n.elem && n.elem->name == "PHOTO"
        && n.elem->child("BINVAL") != nullptr
        && n.elem->child("TYPE") == nullptr) {
      xml::element type{"TYPE", "vcard-temp"};
      type.add_text("image/jpeg");
      n.elem->children.insert(n.elem->children.begin(),
                              xml::node{"", std::make_shared<xml::element>(
                                std::move(type))});
    }
  return v;
}

} // namespace dja::plugins::ldap

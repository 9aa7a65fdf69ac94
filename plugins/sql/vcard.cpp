// vCards from a row and a template (plugins/sql/vcard.hpp).

#include "plugins/sql/vcard.hpp"

#include "common/base64.hpp"
#include "common/stored_xml.hpp"

namespace dja::plugins::sql {

const char* const default_template
  = "<vCard xmlns='vcard-temp'><FN>{fn}</FN><NICKNAME>{nickname}</NICKNAME>"
    "<EMAIL><INTERNET/><USERID>{email}</USERID></EMAIL>"
    "<PHOTO><TYPE>{photo|mime}</TYPE><BINVAL>{photo|base64}</BINVAL></PHOTO>"
    "</vCard>";

namespace {

/// The image type of `blob` by its magic bytes, "" when not an image we
/// know.
std::string mime_of(const std::string& blob) {
  auto has = [&](size_t at, std::string_view magic) {
    return blob.size() >= at + magic.size()
           && std::string_view{blob}.substr(at, magic.size()) == magic;
  };
  if (has(0, "\x89PNG\r\n\x1a\n"))
    return "image/png";
  if (has(0, "\xff\xd8\xff"))
    return "image/jpeg";
  if (has(0, "GIF87a") || has(0, "GIF89a"))
    return "image/gif";
  if (has(0, "RIFF") && has(8, "WEBP"))
    return "image/webp";
  return {};
}

/// The children of the element serialized in `text` (an ejabberd vcard
/// column), "" when it is not one well-formed element.
std::string inner(const std::string& text) {
  auto e = xml::parse_stored(text);
  if (!e)
    return {};
  std::string out;
  for (auto& n : e->children)
    if (n.elem)
      xml::serialize(*n.elem, out, e->ns);
    else
      out += xml::escape(n.text);
  return out;
}

/// The template with every {column[|filter]} replaced from row `i`.
std::string expand(const std::string& tmpl, const rows& r, size_t i) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    auto open = tmpl.find('{', pos);
    auto close = open == std::string::npos ? open : tmpl.find('}', open);
    if (close == std::string::npos) {
      out.append(tmpl, pos, std::string::npos);
      break;
    }
    out.append(tmpl, pos, open - pos);
    auto spec = tmpl.substr(open + 1, close - open - 1);
    auto bar = spec.find('|');
    auto column = spec.substr(0, bar);
    auto filter = bar == std::string::npos ? "" : spec.substr(bar + 1);
    std::string value;
    auto c = i < r.data.size() ? r.index(column) : -1;
    if (c >= 0 && r.data[i][c])
      value = *r.data[i][c];
    if (filter == "base64")
      out += base64::encode(value);
    else if (filter == "mime")
      out += xml::escape(mime_of(value));
    else if (filter == "elements")
      out += inner(value);
    else
      out += xml::escape(value);
    pos = close + 1;
  }
  return out;
}

/// Drops the descendants of `e` with neither text nor children.
void prune(xml::element& e) {
  std::vector<xml::node> kept;
  for (auto& n : e.children) {
    if (n.elem) {
      prune(*n.elem);
      bool empty = n.elem->children.empty()
                   || (n.elem->elements().empty()
                       && n.elem->text().find_first_not_of(" \t\r\n")
                            == std::string::npos);
      // <INTERNET/> and its kind are markers: they stay when their
      // parent has a value beside them.
      if (empty && n.elem->name != "INTERNET" && n.elem->name != "HOME"
          && n.elem->name != "WORK")
        continue;
    }
    kept.push_back(std::move(n));
  }
  e.children = std::move(kept);
  // A parent left with markers only (an EMAIL without USERID) goes too.
  bool markers_only = !e.children.empty();
  for (auto& n : e.children)
    if (!n.elem || !n.elem->children.empty()
        || (n.elem->name != "INTERNET" && n.elem->name != "HOME"
            && n.elem->name != "WORK"))
      markers_only = false;
  if (markers_only)
    e.children.clear();
}

} // namespace

std::string check_template(const toml::node& v) {
  rows none;
  auto e = xml::parse_stored(expand(v.value_or(std::string{}), none, 0));
  if (!e || e->name != "vCard" || e->ns != "vcard-temp")
    return "an XML template of one <vCard xmlns='vcard-temp'> element";
  return {};
}

xml::element_ptr render(const std::string& tmpl, const rows& r, size_t i) {
  auto parsed = xml::parse_stored(expand(tmpl, r, i));
  if (!parsed || parsed->name != "vCard" || parsed->ns != "vcard-temp")
    return nullptr;
  auto out = std::make_shared<xml::element>(*parsed);
  prune(*out);
  return out;
}

} // namespace dja::plugins::sql

#include "common/xml.hpp"

#include <algorithm>
#include <utility>

namespace dja::xml {

namespace {

constexpr std::string_view xml_ns = "http://www.w3.org/XML/1998/namespace";

// Appends `in` escaped. Control characters that XML 1.0 cannot carry are
// dropped; in attribute values, TAB/LF/CR become character references so
// that attribute-value normalization on the other side keeps them.
void append_escaped(std::string& out, std::string_view in, bool attr) {
  for (char ch : in) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\n':
      case '\t':
        if (attr)
          out += ch == '\n' ? "&#10;" : "&#9;";
        else
          out += ch;
        break;
      default:
        if (static_cast<unsigned char>(ch) >= 0x20)
          out += ch;
        break;
    }
  }
}

bool plain_attr(const attribute& a) {
  return a.ns.empty() || a.ns == xml_ns || a.name.rfind("xml:", 0) == 0;
}

std::string_view local_part(std::string_view name) {
  auto pos = name.find(':');
  return pos == std::string_view::npos ? name : name.substr(pos + 1);
}

} // namespace

// -- element ------------------------------------------------------------------

element::element(std::string n, std::string nspace)
  : name(std::move(n)), ns(std::move(nspace)) {
  // nop
}

const std::string* element::attr(std::string_view key) const {
  for (auto& a : attrs)
    if (a.name == key)
      return &a.value;
  return nullptr;
}

std::string element::attr_or(std::string_view key,
                             std::string_view fallback) const {
  if (auto v = attr(key))
    return *v;
  return std::string{fallback};
}

element& element::set_attr(std::string_view key, std::string value) {
  for (auto& a : attrs) {
    if (a.name == key) {
      a.value = std::move(value);
      return *this;
    }
  }
  attrs.push_back(attribute{std::string{key}, std::move(value), {}});
  return *this;
}

void element::remove_attr(std::string_view key) {
  attrs.erase(std::remove_if(attrs.begin(), attrs.end(),
                             [&](const attribute& a) { return a.name == key; }),
              attrs.end());
}

const element* element::child(std::string_view key,
                              std::string_view nspace) const {
  for (auto& c : children)
    if (c.elem && c.elem->name == key
        && (nspace.empty() || c.elem->ns == nspace))
      return c.elem.get();
  return nullptr;
}

element* element::child(std::string_view key, std::string_view nspace) {
  auto res = static_cast<const element*>(this)->child(key, nspace);
  return const_cast<element*>(res);
}

std::vector<const element*> element::elements() const {
  std::vector<const element*> res;
  for (auto& c : children)
    if (c.elem)
      res.push_back(c.elem.get());
  return res;
}

const element* element::first_element() const {
  for (auto& c : children)
    if (c.elem)
      return c.elem.get();
  return nullptr;
}

std::string element::text() const {
  std::string res;
  for (auto& c : children)
    if (!c.elem)
      res += c.text;
  return res;
}

element& element::add_child(element child) {
  node n;
  n.elem = std::make_shared<element>(std::move(child));
  children.push_back(std::move(n));
  return *children.back().elem;
}

element& element::add_text(std::string str) {
  if (str.empty())
    return *this;
  if (!children.empty() && !children.back().elem)
    children.back().text += str;
  else
    children.push_back(node{std::move(str), nullptr});
  return *this;
}

// -- free functions -----------------------------------------------------------

std::string escape(std::string_view in) {
  std::string res;
  res.reserve(in.size());
  append_escaped(res, in, false);
  return res;
}

void serialize(const element& e, std::string& out, std::string_view parent_ns) {
  out += '<';
  out += e.name;
  if (e.ns != parent_ns) {
    out += " xmlns='";
    append_escaped(out, e.ns, true);
    out += '\'';
  }
  // Prefixes for namespaced attributes, declared on this element.
  std::vector<std::string_view> prefixed;
  for (auto& a : e.attrs) {
    // Namespace declarations come from `ns` fields, never from attributes.
    if (a.name == "xmlns" || a.name.rfind("xmlns:", 0) == 0)
      continue;
    out += ' ';
    if (plain_attr(a)) {
      if (a.ns == xml_ns && a.name.rfind("xml:", 0) != 0)
        out += "xml:";
      out += a.name;
    } else {
      auto i = std::find(prefixed.begin(), prefixed.end(), a.ns);
      auto prefix = "a" + std::to_string(i - prefixed.begin());
      if (i == prefixed.end()) {
        prefixed.push_back(a.ns);
        out += "xmlns:";
        out += prefix;
        out += "='";
        append_escaped(out, a.ns, true);
        out += "' ";
      }
      out += prefix;
      out += ':';
      out += local_part(a.name);
    }
    out += "='";
    append_escaped(out, a.value, true);
    out += '\'';
  }
  if (e.children.empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (auto& c : e.children) {
    if (c.elem)
      serialize(*c.elem, out, e.ns);
    else
      append_escaped(out, c.text, false);
  }
  out += "</";
  out += e.name;
  out += '>';
}

std::string to_string(const element& e, std::string_view parent_ns) {
  std::string res;
  serialize(e, res, parent_ns);
  return res;
}

} // namespace dja::xml

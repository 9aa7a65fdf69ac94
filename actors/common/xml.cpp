#include "common/xml.hpp"

#include <algorithm>
#include <cstddef>
#include <unordered_map>
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

namespace {

/// Declarations may take this many bytes of one serialization before
/// serialize() checks whether they dominate it.
constexpr std::size_t decl_budget = 4096;

/// Writes one tree. A namespaced attribute gets a prefix aN, declared on
/// the element that first needs it and reused in its subtree (`scope_`).
/// In `hoist` mode every namespace below the root is declared once, on
/// the root, and used as a prefix wherever it differs from the default
/// namespace in scope, so that nothing is declared twice.
class writer {
public:
  writer(std::string& out, bool hoist)
    : out_(out), start_(out.size()), hoist_(hoist) {
    // nop
  }

  /// True when the declarations took over (not in hoist mode): the
  /// writer stopped, the output is incomplete and must be written again
  /// in hoist mode. A long namespace declared on many siblings would
  /// make the output many times the input, and a peer with the same
  /// stanza limit would close the stream.
  bool gave_up = false;

  void write_root(const element& e, std::string_view parent_ns) {
    if (hoist_)
      collect(e, true);
    write(e, parent_ns, true);
  }

private:
  /// The index of `ns` among the prefixes in scope, or -1.
  std::ptrdiff_t find(std::string_view ns) const {
    if (hoist_) {
      auto i = index_.find(ns);
      return i == index_.end() ? -1 : static_cast<std::ptrdiff_t>(i->second);
    }
    auto i = std::find(scope_.begin(), scope_.end(), ns);
    return i == scope_.end() ? -1 : i - scope_.begin();
  }

  /// Hoist mode: assigns a prefix to every namespace used below the root
  /// or by an attribute (XML Namespaces 1.0 §5: never to the empty one).
  void collect(const element& e, bool root) {
    auto add = [this](std::string_view ns) {
      if (!ns.empty() && index_.emplace(ns, scope_.size()).second)
        scope_.push_back(ns);
    };
    if (!root)
      add(e.ns);
    for (auto& a : e.attrs)
      if (!plain_attr(a))
        add(a.ns);
    for (auto& c : e.children)
      if (c.elem)
        collect(*c.elem, false);
  }

  void prefix(std::size_t i) {
    out_ += 'a';
    out_ += std::to_string(i);
  }

  void declare(std::size_t i, std::string_view ns) {
    auto before = out_.size();
    out_ += " xmlns:";
    prefix(i);
    out_ += "='";
    append_escaped(out_, ns, true);
    out_ += '\'';
    count_decl(out_.size() - before);
  }

  void count_decl(std::size_t n) {
    decl_bytes_ += n;
    if (!hoist_ && decl_bytes_ > decl_budget
        && 2 * decl_bytes_ > out_.size() - start_)
      gave_up = true;
  }

  void write(const element& e, std::string_view dflt, bool root = false) {
    auto mark = scope_.size();
    auto child_dflt = dflt;
    std::ptrdiff_t pfx = -1;
    out_ += '<';
    if (e.ns != dflt && hoist_ && (pfx = find(e.ns)) >= 0) {
      prefix(static_cast<std::size_t>(pfx));
      out_ += ':';
      out_ += e.name;
    } else {
      out_ += e.name;
      if (e.ns != dflt) {
        auto before = out_.size();
        out_ += " xmlns='";
        append_escaped(out_, e.ns, true);
        out_ += '\'';
        count_decl(out_.size() - before);
        child_dflt = e.ns;
      }
    }
    if (root && hoist_)
      for (std::size_t i = 0; i < scope_.size(); ++i)
        declare(i, scope_[i]);
    for (auto& a : e.attrs) {
      // Namespace declarations come from `ns` fields, never from attributes.
      if (a.name == "xmlns" || a.name.rfind("xmlns:", 0) == 0)
        continue;
      if (plain_attr(a)) {
        out_ += ' ';
        if (a.ns == xml_ns && a.name.rfind("xml:", 0) != 0)
          out_ += "xml:";
        out_ += a.name;
      } else {
        auto i = find(a.ns);
        if (i < 0) {
          i = static_cast<std::ptrdiff_t>(scope_.size());
          scope_.push_back(a.ns);
          declare(scope_.size() - 1, a.ns);
        }
        out_ += ' ';
        prefix(static_cast<std::size_t>(i));
        out_ += ':';
        out_ += local_part(a.name);
      }
      out_ += "='";
      append_escaped(out_, a.value, true);
      out_ += '\'';
    }
    if (e.children.empty()) {
      out_ += "/>";
    } else {
      out_ += '>';
      for (auto& c : e.children) {
        if (gave_up)
          return;
        if (c.elem)
          write(*c.elem, child_dflt);
        else
          append_escaped(out_, c.text, false);
      }
      out_ += "</";
      if (pfx >= 0) {
        prefix(static_cast<std::size_t>(pfx));
        out_ += ':';
      }
      out_ += e.name;
      out_ += '>';
    }
    if (!hoist_)
      scope_.resize(mark); // the prefixes declared here go out of scope
  }

  std::string& out_;
  std::size_t start_;
  bool hoist_;
  std::size_t decl_bytes_ = 0;
  std::vector<std::string_view> scope_; // prefix aN stands for scope_[N]
  std::unordered_map<std::string_view, std::size_t> index_; // hoist mode
};

} // namespace

void serialize(const element& e, std::string& out, std::string_view parent_ns) {
  auto start = out.size();
  writer w{out, false};
  w.write_root(e, parent_ns);
  if (w.gave_up) {
    // Each namespace declared once, on the root, costs its length once.
    out.resize(start);
    writer{out, true}.write_root(e, parent_ns);
  }
}

std::string to_string(const element& e, std::string_view parent_ns) {
  std::string res;
  serialize(e, res, parent_ns);
  return res;
}

} // namespace dja::xml

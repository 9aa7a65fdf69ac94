#pragma once

// Immutable-after-build XML element trees: what a stanza is inside a node.
// Stanzas travel between actors as `element_ptr` (shared, never copied).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dja::xml {

struct element;

/// A stanza as it travels between actors: shared and read-only.
using element_ptr = std::shared_ptr<const element>;

/// An attribute. `name` is the qualified name as written on the wire for the
/// `xml:` prefix (e.g. "xml:lang"); attributes in other namespaces keep
/// their namespace in `ns` (empty for the usual unqualified attributes).
struct attribute {
  std::string name;
  std::string value;
  std::string ns;
};

/// One child: either text or an element (exactly one of the two is used).
struct node {
  std::string text;
  std::shared_ptr<element> elem;
};

/// An XML element with its namespace resolved (prefixes are not kept: on
/// output every namespace change is written as a default `xmlns`, except
/// where that would repeat a long declaration: see serialize()).
struct element {
  std::string name;
  std::string ns;
  std::vector<attribute> attrs;
  std::vector<node> children;

  element() = default;
  element(std::string name, std::string ns);

  /// The attribute value, or nullptr when absent.
  const std::string* attr(std::string_view name) const;
  /// The attribute value, or `fallback` when absent.
  std::string attr_or(std::string_view name,
                      std::string_view fallback = {}) const;
  /// Adds the attribute or replaces its value; returns *this for chaining.
  element& set_attr(std::string_view name, std::string value);
  void remove_attr(std::string_view name);

  /// The first child element with this name and namespace (ns empty: any).
  const element* child(std::string_view name, std::string_view ns = {}) const;
  element* child(std::string_view name, std::string_view ns = {});
  /// All child elements in order.
  std::vector<const element*> elements() const;
  /// The first child element, or nullptr.
  const element* first_element() const;
  /// The concatenated text of the direct text children.
  std::string text() const;

  /// Appends a child element and returns a reference to it.
  element& add_child(element child);
  /// Appends a text child; returns *this.
  element& add_text(std::string text);
};

/// Escapes &, <, >, " and ' for use in text and attribute values.
std::string escape(std::string_view in);

/// Appends the serialization of `e` to `out`. An `xmlns` is written when
/// `e.ns` differs from `parent_ns` (the default namespace in scope). A
/// namespaced attribute's prefix is declared where first used and not
/// again in that subtree. When declarations would still be most of the
/// output (over 4 KiB of them), every namespace is declared once on `e`
/// and used as a prefix below it: the output stays within a small
/// constant factor of the parsed input.
void serialize(const element& e, std::string& out,
               std::string_view parent_ns = "jabber:client");

/// Convenience wrapper around serialize().
std::string to_string(const element& e,
                      std::string_view parent_ns = "jabber:client");

} // namespace dja::xml

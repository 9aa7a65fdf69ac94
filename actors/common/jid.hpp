#pragma once

// JIDs as values (RFC 7622): prepared on construction (local part and
// domain case-folded, resource prepared), so two JIDs are equal iff their
// strings are equal.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace dja {

class jid {
public:
  jid() = default;

  /// Parses and prepares "[local@]domain[/resource]". Empty optional when
  /// the JID is malformed (the caller answers <jid-malformed/>): empty
  /// parts, a part over 1023 bytes, prohibited characters, bad domain.
  static std::optional<jid> parse(std::string_view s);

  /// Builds from parts (each prepared as in parse()); local and resource
  /// may be empty.
  static std::optional<jid> make(std::string_view local,
                                 std::string_view domain,
                                 std::string_view resource = {});

  /// Prepares a resource alone (for resource binding); empty if invalid.
  static std::optional<std::string> prep_resource(std::string_view r);
  /// Prepares a local part alone (for SASL user names); empty if invalid.
  static std::optional<std::string> prep_local(std::string_view l);

  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }

  bool empty() const { return domain_.empty(); }
  bool is_bare() const { return resource_.empty(); }
  bool is_full() const { return !resource_.empty(); }

  jid bare() const;
  jid with_resource(std::string prepared_resource) const;

  /// "local@domain/resource" (parts omitted when empty).
  std::string str() const;
  /// "local@domain".
  std::string bare_str() const;

  friend bool operator==(const jid& a, const jid& b) {
    return a.local_ == b.local_ && a.domain_ == b.domain_
           && a.resource_ == b.resource_;
  }
  friend bool operator!=(const jid& a, const jid& b) { return !(a == b); }
  friend bool operator<(const jid& a, const jid& b);

private:
  std::string local_;
  std::string domain_;
  std::string resource_;
};

} // namespace dja

template <>
struct std::hash<dja::jid> {
  std::size_t operator()(const dja::jid& j) const noexcept {
    return std::hash<std::string>{}(j.str());
  }
};

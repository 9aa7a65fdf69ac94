#pragma once

// What every hook has in common (docs/hooks.md, "How a chain runs"): a
// plugin's answer, the three kinds, and the helpers with which a request
// struct of actors/hooks/catalogue.hpp says what its caller gets when
// every plugin declines or one fails (its fallback).
//
// Three kinds, never mixed:
//  - first:  the chain ends at the first plugin that does not decline; a
//            plugin replies `answer<T>` (handled or declined) or an error.
//            When every plugin declines, the hook's fallback applies.
//            Errors and timeouts fail closed.
//  - fold:   every plugin may pass the value on (possibly altered) or drop
//            it; declined = pass unchanged.
//  - notify: a plain send to every plugin; nobody waits.

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/sec.hpp>

namespace dja::hooks {

/// A plugin's reply to a `first` or `fold` hook: handled (with a value) or
/// declined (pass to the next plugin). Errors travel as caf::error.
template <class T>
struct answer {
  bool declined = true;
  T value{};

  static answer decline() { return {}; }
  static answer handled(T v) { return {false, std::move(v)}; }
};

enum class hook_kind : uint8_t { first, fold, notify };

/// How a `first` chain ended, as the hook's `settle` sees it: the answer
/// of the plugin that did not decline, a declined answer when every
/// plugin declined (or none serves the hook), or the error of the plugin
/// that failed or timed out.
template <class T>
using outcome = caf::expected<answer<T>>;

/// `settle` of most `first` hooks: the plugin's value; `fallback` when
/// every plugin declined; an error stays an error (fail closed).
template <class T>
caf::expected<T> value_or(outcome<T> r, T fallback) {
  if (!r)
    return std::move(r.error());
  if (r->declined)
    return fallback;
  return std::move(r->value);
}

/// `settle` of a `first` hook that some plugin must serve (a write to a
/// store): when every plugin declined, an error naming the hook.
template <class T>
caf::expected<T> value_or_error(outcome<T> r, const char* hook) {
  if (r && r->declined)
    return caf::make_error(caf::sec::unexpected_message,
                           std::string{"no plugin serves "} + hook);
  return value_or(std::move(r), T{});
}

/// Which hook: its position in the list of hooks (hooks::all). Plugin
/// manifests name the hooks they serve with `hooks::id<hooks::X>`, so a
/// misspelled hook does not compile.
struct hook_id {
  uint8_t index = 0;

  friend constexpr bool operator==(hook_id x, hook_id y) {
    return x.index == y.index;
  }
  friend constexpr bool operator!=(hook_id x, hook_id y) {
    return x.index != y.index;
  }
};

} // namespace dja::hooks

namespace caf {

/// Answers stay inside one process (hooks never cross nodes).
template <class T>
struct allowed_unsafe_message_type<dja::hooks::answer<T>> : std::true_type {};

} // namespace caf

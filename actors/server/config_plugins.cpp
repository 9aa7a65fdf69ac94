// The [[vhost.plugin]] check (a plugin block against its type's option
// schema, actors/hooks/plugin.hpp) and the message helpers the other
// parts of the configuration check share (server/config_detail.hpp).

#include "server/config_detail.hpp"

#include <algorithm>
#include <filesystem>

#include "hooks/catalogue.hpp"
#include "server/plugin_loader.hpp"
#include "server/registry.hpp"

namespace dja::config {

namespace detail {

std::string where(const std::string& file, int64_t line) {
  return file + ":" + std::to_string(line);
}

std::string join_key(const std::string& prefix, std::string_view key) {
  auto bare = !key.empty()
              && std::all_of(key.begin(), key.end(), [](char c) {
                   return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                          || (c >= '0' && c <= '9') || c == '_' || c == '-';
                 });
  std::string res = prefix;
  if (!res.empty())
    res += '.';
  if (bare) {
    res += key;
  } else {
    res += '"';
    res += key;
    res += '"';
  }
  return res;
}

std::string got(const toml::node& v) {
  switch (v.type()) {
    case toml::node_type::table:
      return " (got a table)";
    case toml::node_type::array:
      return " (got an array)";
    case toml::node_type::string:
      return " (got the string \"" + v.as_string()->get() + "\")";
    case toml::node_type::integer:
      return " (got " + std::to_string(v.as_integer()->get()) + ")";
    case toml::node_type::floating_point:
      return " (got a float)";
    case toml::node_type::boolean:
      return v.as_boolean()->get() ? " (got true)" : " (got false)";
    case toml::node_type::date:
      return " (got a date)";
    case toml::node_type::time:
      return " (got a time)";
    case toml::node_type::date_time:
      return " (got a date-time)";
    default:
      return "";
  }
}

std::string int_error(const toml::node& v, int64_t lo, int64_t hi,
                      std::string_view unit) {
  if (auto i = v.as_integer(); i && i->get() >= lo && i->get() <= hi)
    return {};
  std::string res = "an integer";
  res += unit;
  res += " in " + std::to_string(lo) + ".." + std::to_string(hi);
  return res + got(v);
}

} // namespace detail

namespace {

using plugins::option_spec;
using plugins::option_type;
using plugins::plugin_type;
using detail::line_of;

const char* type_name(option_type t) {
  switch (t) {
    case option_type::string:
      return "a string";
    case option_type::integer:
      return "an integer";
    case option_type::boolean:
      return "a boolean";
    case option_type::string_map:
      return "a table of strings";
    case option_type::string_list:
      return "an array of strings";
  }
  return "?";
}

std::string known_types() {
  std::string res;
  for (auto& t : plugins::builtin_types()) {
    if (!res.empty())
      res += ", ";
    res += t.name;
  }
  return res.empty() ? "(none)" : res;
}

std::string accepted_keys(const plugin_type& type) {
  std::string res = "type, library, timeout_ms, hooks";
  for (auto& o : type.options)
    res += ", " + o.key;
  return res;
}

class plugin_checker {
public:
  plugin_checker(const std::string& file, std::vector<config_error>& errors,
                 const std::vector<std::string>& dirs)
    : file_(file), errors_(errors), dirs_(dirs) {
    // nop
  }

  void fail(int64_t line, std::string key, std::string expected) {
    errors_.push_back(
      config_error{file_, line, std::move(key), std::move(expected)});
  }

  /// Checks the value of one option against its spec.
  void option(const option_spec& spec, const toml::node& v,
              const std::string& key) {
    bool ok = false;
    switch (spec.type) {
      case option_type::string:
        ok = v.is_string();
        break;
      case option_type::integer:
        ok = v.is_integer();
        break;
      case option_type::boolean:
        ok = v.is_boolean();
        break;
      case option_type::string_map:
        if (auto t = v.as_table()) {
          ok = true;
          for (auto&& [k, x] : *t)
            if (!x.is_string())
              fail(line_of(x), detail::join_key(key, k.str()),
                   "a string (" + spec.key + " is a table of strings)"
                     + detail::got(x));
        }
        break;
      case option_type::string_list:
        if (auto a = v.as_array()) {
          ok = true;
          for (size_t i = 0; i < a->size(); ++i)
            if (auto& x = *a->get(i); !x.is_string())
              fail(line_of(x), key + "[" + std::to_string(i) + "]",
                   "a string (" + spec.key + " is an array of strings)"
                     + detail::got(x));
        }
        break;
    }
    if (!ok)
      fail(line_of(v), key, type_name(spec.type) + detail::got(v));
    else if (spec.check)
      if (auto expected = spec.check(v); !expected.empty())
        fail(line_of(v), key, std::move(expected));
  }

  /// The type named by the block's `type` key, or nullptr (after an error).
  const plugin_type* type(const toml::table& t, const std::string& key,
                          plugin_cfg& out) {
    auto v = t.get("type");
    if (v == nullptr) {
      fail(line_of(t), key + ".type",
           "a plugin type (required), one of " + known_types());
      return nullptr;
    }
    auto s = v->as_string();
    if (s == nullptr) {
      fail(line_of(*v), key + ".type",
           "a plugin type (a string), one of " + known_types()
             + detail::got(*v));
      return nullptr;
    }
    out.type = s->get();
    auto res = plugins::find_type(out.type);
    if (res == nullptr)
      fail(line_of(*v), key + ".type",
           "a known plugin type, one of " + known_types() + detail::got(*v));
    return res;
  }

  void check(const toml::table& t, const std::string& key, plugin_cfg& out) {
    out.where = detail::where(file_, line_of(t));
    out.options = t;
    out.options.erase("type");
    out.options.erase("library");
    out.options.erase("timeout_ms");
    out.options.erase("hooks");
    if (!library(t, key, out))
      return;
    auto errors_before = errors_.size();
    auto ty = type(t, key, out);
    if (auto v = t.get("timeout_ms")) {
      auto err = detail::int_error(*v, 1, 600000, " (milliseconds)");
      if (err.empty())
        out.timeout = std::chrono::milliseconds{v->as_integer()->get()};
      else
        fail(line_of(*v), key + ".timeout_ms", std::move(err));
    }
    if (ty == nullptr)
      return; // Cannot check the options of an unknown type.
    if (auto v = t.get("hooks"))
      hook_subset(*v, key + ".hooks", *ty, out);
    auto spec_of = [ty](std::string_view k) -> const option_spec* {
      auto& os = ty->options;
      auto i = std::find_if(os.begin(), os.end(),
                            [k](const option_spec& o) { return o.key == k; });
      return i != os.end() ? &*i : nullptr;
    };
    for (auto&& [k, v] : t) {
      if (k == "type" || k == "library" || k == "timeout_ms" || k == "hooks")
        continue;
      auto sub = detail::join_key(key, k.str());
      if (auto spec = spec_of(k.str()))
        option(*spec, v, sub);
      else
        fail(line_of(k), sub, "an option of " + ty->name + " (accepted: "
                                + accepted_keys(*ty) + ")");
    }
    for (auto& spec : ty->options)
      if (spec.required && !t.contains(spec.key))
        fail(line_of(t), detail::join_key(key, spec.key),
             type_name(spec.type) + std::string{" (required by "} + ty->name
               + ")");
    if (errors_.size() == errors_before) // options fine: can it start?
      if (auto err = ty->describe(out.options).error; !err.empty()) {
        // "OPTION: expected" names one of the block's options (e.g. a
        // secret that other options require): report it there.
        auto colon = err.find(": ");
        auto opt = colon == std::string::npos ? std::string{}
                                              : err.substr(0, colon);
        if (!opt.empty() && spec_of(opt) != nullptr) {
          auto v = t.get(opt);
          fail(v != nullptr ? line_of(*v) : line_of(t),
               detail::join_key(key, opt), err.substr(colon + 2));
        } else {
          fail(line_of(t), key, std::move(err));
        }
      }
  }

  /// `hooks`: names of hooks the type serves. A name the catalogue does
  /// not know is an error, never a hook silently not called.
  void hook_subset(const toml::node& v, const std::string& key,
                   const plugin_type& ty, plugin_cfg& out) {
    auto a = v.as_array();
    if (a == nullptr) {
      fail(line_of(v), key, "an array of hook names" + detail::got(v));
      return;
    }
    auto served = ty.describe(out.options).hooks;
    std::string served_names;
    for (auto h : served)
      served_names += (served_names.empty() ? "" : ", ")
                      + std::string{hooks::name_of(h)};
    for (size_t i = 0; i < a->size(); ++i) {
      auto& x = *a->get(i);
      auto sub = key + "[" + std::to_string(i) + "]";
      auto name = x.value<std::string>();
      auto id = name ? hooks::find(*name) : std::nullopt;
      if (!id)
        fail(line_of(x), sub,
             "a hook name, one of " + hooks::names() + detail::got(x));
      else if (std::find(served.begin(), served.end(), *id) == served.end())
        fail(line_of(x), sub,
             "a hook " + ty.name + " serves ("
               + (served_names.empty() ? "none" : served_names) + ")"
               + detail::got(x));
      else
        out.only_hooks.push_back(*id);
    }
  }

  /// Loads the library the block names (`library`), or TYPE.so from a
  /// plugin_dirs entry for a type that is not built in. False after an
  /// error (the block is not checked further).
  bool library(const toml::table& t, const std::string& key,
               plugin_cfg& out) {
    auto base = std::filesystem::path{file_}.parent_path().string();
    if (base.empty())
      base = ".";
    auto type = t.get("type") ? t.get("type")->value<std::string>()
                              : std::nullopt;
    const toml::node* where = t.get("library");
    std::string path;
    if (where != nullptr) {
      auto s = where->as_string();
      if (s == nullptr || s->get().empty()) {
        fail(line_of(*where), key + ".library",
             "a plugin library file (a string)" + detail::got(*where));
        return false;
      }
      path = plugins::find_library(s->get(), dirs_, base);
      if (path.empty()) {
        std::string looked;
        for (auto& d : dirs_)
          looked += d + ", ";
        fail(line_of(*where), key + ".library",
             "a plugin library file (\"" + s->get() + "\" is not in "
               + looked + base + ")");
        return false;
      }
    } else if (type && plugins::find_type(*type) == nullptr) {
      path = plugins::find_library(*type + ".so", dirs_, "");
      if (path.empty())
        return true; // "a known plugin type" follows
      where = t.get("type");
    } else {
      return true;
    }
    if (auto err = plugins::load_library(path); !err.empty()) {
      fail(line_of(*where), key + (t.contains("library") ? ".library"
                                                          : ".type"),
           "a plugin library this server can load (" + err + ")");
      return false;
    }
    out.library = path;
    auto declared = plugins::library_types(path);
    if (type
        && std::find(declared.begin(), declared.end(), *type)
             == declared.end()) {
      std::string names;
      for (auto& n : declared)
        names += (names.empty() ? "" : ", ") + n;
      fail(line_of(*t.get("type")), key + ".type",
           "a type " + path + " declares (" + names + ")"
             + detail::got(*t.get("type")));
      return false;
    }
    return true;
  }

private:
  const std::string& file_;
  std::vector<config_error>& errors_;
  const std::vector<std::string>& dirs_;
};

} // namespace

void detail::check_plugin(const toml::table& t, const std::string& file,
                          const std::string& key, plugin_cfg& out,
                          std::vector<config_error>& errors,
                          const std::vector<std::string>& plugin_dirs) {
  plugin_checker{file, errors, plugin_dirs}.check(t, key, out);
}

} // namespace dja::config

#include "plugins/vcard/common/avatar.hpp"

#include "plugins/vcard/common/photo_hash.hpp"

namespace dja::plugins::vcard {

option_spec avatar_hash_option() {
  return {"avatar_hash", option_type::boolean, false,
          "add the XEP-0153 photo hash to users' available presence "
          "(default true)"};
}

manifest vcard_manifest(const toml::table& opts) {
  std::vector<hooks::hook_id> served;
  if (opts["avatar_hash"].value_or(true))
    served.push_back(hooks::id<hooks::presence_alter_available>);
  return manifest{std::move(served),
                  {std::string{"get "} + ns_vcard,
                   std::string{"set "} + ns_vcard},
                  {ns_vcard},
                  {},
                  {}};
}

hooks::answer<hooks::filter_verdict>
avatar_cache::alter(const hooks::presence_alter_available& r,
                    const std::string& domain, const vcard_loader& load) {
  using verdict_t = hooks::answer<hooks::filter_verdict>;
  if (!r.stanza || r.user.domain() != domain || r.user.local().empty()
      || r.stanza->child("x", ns_update) != nullptr)
    return verdict_t::decline();
  auto i = hashes_.find(r.user.local());
  if (i == hashes_.end()) {
    auto stored = load(r.user.local());
    if (!stored)
      return verdict_t::decline(); // logged; not cached: asked again
    std::optional<std::string> hash = std::string{};
    if (*stored)
      hash = photo_hash(**stored);
    i = hashes_.emplace(r.user.local(), std::move(hash)).first;
  }
  if (!i->second)
    return verdict_t::decline();
  auto out = std::make_shared<xml::element>(*r.stanza);
  auto& photo = out->add_child(xml::element{"x", ns_update})
                  .add_child(xml::element{"photo", ns_update});
  if (!i->second->empty())
    photo.add_text(*i->second);
  return verdict_t::handled({out, {}});
}

} // namespace dja::plugins::vcard

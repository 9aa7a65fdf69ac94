// XEP-0398 User Avatar to vCard-Based Avatars Conversion (state.hpp),
// through the vCard plugins' own iq hook (any vcard.* plugin, sql, http):
//  - an account with no XEP-0084 avatar nodes shows its vCard photo
//    (XEP-0054 PHOTO) as one: items of urn:xmpp:avatar:metadata and
//    urn:xmpp:avatar:data are made from it, item id = the hex SHA-1 of
//    the image (XEP-0084 §4.2, the XEP-0153 hash);
//  - publishing XEP-0084 metadata whose <info/> names a data item of the
//    account writes that image into the account's vCard PHOTO, so the
//    XEP-0153 hash in its next presence is the new avatar's.

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/namespaces.hpp"
#include "plugins/pep/state.hpp"
#include "plugins/vcard/common/photo_hash.hpp"

namespace dja::plugins::pep {

namespace {

constexpr const char* ns_avatar_data = "urn:xmpp:avatar:data";
constexpr const char* ns_avatar_meta = "urn:xmpp:avatar:metadata";
constexpr const char* ns_vcard = "vcard-temp";
constexpr auto vcard_wait = std::chrono::seconds(10);

/// An iq `type` of the account `owner` to itself about its vCard.
xml::element_ptr vcard_iq(const char* type, const jid& owner, std::string id,
                          xml::element vcard) {
  auto iq = std::make_shared<xml::element>("iq", ns::client);
  iq->set_attr("type", type).set_attr("id", std::move(id));
  iq->set_attr("from", owner.str()).set_attr("to", owner.str());
  iq->add_child(std::move(vcard));
  return iq;
}

std::string without_space(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      out += c;
  return out;
}

} // namespace

bool is_avatar_node(const std::string& name) {
  return name == ns_avatar_data || name == ns_avatar_meta;
}

void pep_state::vcard_avatar(const hooks::iq_request& r,
                             const std::string& name,
                             std::function<void(reply_t)> k) {
  auto owner = r.to.bare();
  auto get = vcard_iq("get", owner, make_id("pep-vcard-"),
                      xml::element{"vCard", ns_vcard});
  self->request(vhost, vcard_wait, hooks::iq_request{get, owner, owner})
    .then(
      [this, r, name, k, owner](xml::element_ptr& reply) {
        const xml::element* v = nullptr;
        if (reply && reply->attr_or("type") == "result")
          v = reply->child("vCard", ns_vcard);
        auto hash = v ? vcard::photo_hash(*v) : std::nullopt;
        if (!hash || hash->empty()) {
          k(error(r, "item-not-found"));
          return;
        }
        auto photo = v->child("PHOTO", ns_vcard);
        auto b64 = without_space(photo->child("BINVAL", ns_vcard)->text());
        auto type = photo->child("TYPE", ns_vcard);
        xml::element payload{"data", ns_avatar_data};
        if (name == ns_avatar_meta) {
          payload = xml::element{"metadata", ns_avatar_meta};
          auto bytes = base64::decode(b64);
          payload.add_child(xml::element{"info", ns_avatar_meta})
            .set_attr("id", *hash)
            .set_attr("bytes", std::to_string(bytes ? bytes->size() : 0))
            .set_attr("type", type ? type->text() : "image/png");
        } else {
          payload.add_text(b64);
        }
        xml::element items{"items", ns_pubsub};
        items.set_attr("node", name);
        auto asked = r.stanza->first_element()->child("items", ns_pubsub);
        bool wanted = true;
        if (auto i = asked ? asked->child("item", ns_pubsub) : nullptr)
          wanted = i->attr_or("id") == *hash;
        if (wanted) {
          auto& it = items.add_child(xml::element{"item", ns_pubsub});
          it.set_attr("id", *hash);
          it.add_child(std::move(payload));
        }
        k(result_with(r, ns_pubsub, std::move(items)));
      },
      [r, k](caf::error&) { k(error(r, "item-not-found")); });
}

void pep_state::avatar_to_vcard(const jid& owner, const xml::element& meta) {
  auto info = meta.child("info", ns_avatar_meta);
  if (info == nullptr || info->attr("url") != nullptr)
    return; // no image, or one stored elsewhere (XEP-0084 §4.2.1)
  auto data = load(owner.local(), ns_avatar_data);
  if (!data || !*data)
    return;
  auto id = info->attr_or("id");
  std::string b64;
  for (auto& it : (*data)->items)
    if (it.id == id)
      b64 = without_space(it.payload.text());
  if (b64.empty())
    return;
  auto type = info->attr_or("type", "image/png");
  auto get = vcard_iq("get", owner, make_id("pep-vcard-"),
                      xml::element{"vCard", ns_vcard});
  auto on_error = [this, owner](caf::error& err) {
    spdlog::warn("{}: vhost {}: vCard of {} not updated with the avatar: "
                 "{}",
                 tag, domain, owner.str(), caf::to_string(err));
  };
  self->request(vhost, vcard_wait, hooks::iq_request{get, owner, owner})
    .then(
      [this, owner, b64, type, on_error](xml::element_ptr& reply) {
        // The vCard as stored, its PHOTO replaced.
        xml::element v{"vCard", ns_vcard};
        if (reply && reply->attr_or("type") == "result")
          if (auto old = reply->child("vCard", ns_vcard)) {
            v = *old;
            v.children.clear();
            for (auto& c : old->children)
              if (!c.elem || c.elem->name != "PHOTO")
                v.children.push_back(c);
          }
        auto& photo = v.add_child(xml::element{"PHOTO", ns_vcard});
        photo.add_child(xml::element{"TYPE", ns_vcard}).add_text(type);
        photo.add_child(xml::element{"BINVAL", ns_vcard}).add_text(b64);
        auto set = vcard_iq("set", owner, make_id("pep-vcard-"),
                            std::move(v));
        self
          ->request(vhost, vcard_wait, hooks::iq_request{set, owner, owner})
          .then(
            [this, owner](xml::element_ptr& res) {
              if (!res || res->attr_or("type") != "result")
                spdlog::warn("{}: vhost {}: the vCard store refused the "
                             "avatar of {}",
                             tag, domain, owner.str());
            },
            on_error);
      },
      on_error);
}

} // namespace dja::plugins::pep

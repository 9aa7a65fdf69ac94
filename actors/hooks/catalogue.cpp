// What the catalogue knows about its hooks at run time (names, kinds, a
// hook by name) and the `iq` hook's dispatch key and fallback.

#include "hooks/catalogue.hpp"

#include <array>

#include "common/errors.hpp"
#include "common/server_context.hpp"

namespace dja {

bool vhost_info::is_service() const {
  return serves<hooks::domain_stanza>();
}

} // namespace dja

namespace dja::hooks {

namespace {

struct hook_info {
  const char* name;
  hook_kind kind;
};

#define DJA_HOOK_INFO(h) hook_info{h::name, h::kind},
constexpr std::array<hook_info, count> infos{{DJA_HOOK_LIST(DJA_HOOK_INFO)}};
#undef DJA_HOOK_INFO

/// The reply a plugin built, addressed as RFC 6120 §8.2.3 wants.
xml::element_ptr address_reply(const xml::element& req,
                               const xml::element_ptr& reply) {
  auto out = std::make_shared<xml::element>(*reply);
  out->name = "iq";
  out->ns = "jabber:client";
  out->set_attr("id", req.attr_or("id"));
  if (auto to = req.attr("to"))
    out->set_attr("from", *to);
  else
    out->remove_attr("from");
  out->set_attr("to", req.attr_or("from"));
  auto type = out->attr("type");
  if (!type || (*type != "result" && *type != "error"))
    out->set_attr("type", "result");
  return out;
}

} // namespace

const char* name_of(hook_id h) {
  return infos[h.index].name;
}

hook_kind kind_of(hook_id h) {
  return infos[h.index].kind;
}

std::optional<hook_id> find(std::string_view name) {
  for (size_t i = 0; i < infos.size(); ++i)
    if (name == infos[i].name)
      return hook_id{static_cast<uint8_t>(i)};
  return std::nullopt;
}

std::string names() {
  std::string res;
  for (auto& i : infos) {
    if (!res.empty())
      res += ", ";
    res += i.name;
  }
  return res;
}

std::string iq_request::key(const iq_request& req) {
  auto payload = req.stanza ? req.stanza->first_element() : nullptr;
  if (payload == nullptr)
    return {};
  return req.stanza->attr_or("type") + " " + payload->ns;
}

xml::element_ptr iq_request::settle(const iq_request& req,
                                    outcome<xml::element_ptr> r) {
  auto& orig = *req.stanza;
  if (!r)
    return errors::stanza_error(orig, "internal-server-error");
  if (r->declined || !r->value)
    return errors::stanza_error(orig, "service-unavailable");
  return address_reply(orig, r->value);
}

caf::expected<std::vector<xml::element_ptr>>
archive_query::settle(const archive_query& req,
                      outcome<std::vector<xml::element_ptr>> r) {
  if (!r)
    return std::move(r.error());
  if (r->declined)
    return std::vector<xml::element_ptr>{
      errors::stanza_error(*req.stanza, "service-unavailable")};
  return std::move(r->value);
}

} // namespace dja::hooks

#include "common/errors.hpp"

#include <memory>

#include "common/namespaces.hpp"

namespace dja::errors {

const char* default_type(std::string_view c) {
  // RFC 6120 §8.3.3: the type each defined condition usually carries.
  if (c == "bad-request" || c == "jid-malformed" || c == "not-acceptable"
      || c == "policy-violation" || c == "redirect" || c == "gone"
      || c == "modify")
    return "modify";
  if (c == "not-authorized" || c == "forbidden"
      || c == "registration-required" || c == "subscription-required")
    return "auth";
  if (c == "resource-constraint" || c == "remote-server-timeout"
      || c == "unexpected-request")
    return "wait";
  return "cancel";
}

xml::element error_element(std::string_view condition, std::string_view text) {
  xml::element err{"error", ns::client};
  err.set_attr("type", default_type(condition));
  err.add_child(xml::element{std::string{condition}, ns::stanzas_err});
  if (!text.empty()) {
    xml::element t{"text", ns::stanzas_err};
    t.add_text(std::string{text});
    err.add_child(std::move(t));
  }
  return err;
}

xml::element_ptr stanza_error(const xml::element& orig,
                              std::string_view condition,
                              std::string_view text) {
  auto reply = std::make_shared<xml::element>(orig.name, ns::client);
  if (auto id = orig.attr("id"))
    reply->set_attr("id", *id);
  if (auto to = orig.attr("to"))
    reply->set_attr("from", *to);
  if (auto from = orig.attr("from"))
    reply->set_attr("to", *from);
  reply->set_attr("type", "error");
  // Keep the original payload of small stanzas (RFC 6120 §8.3.1 MAY);
  // iq replies carry at most the request's child.
  for (auto* child : orig.elements())
    if (child->name != "error")
      reply->add_child(*child);
  reply->add_child(error_element(condition, text));
  return reply;
}

bool is_error(const xml::element& e) {
  auto type = e.attr("type");
  return type && *type == "error";
}

std::string stream_error(std::string_view condition, std::string_view text) {
  std::string out = "<stream:error><";
  out += condition;
  out += " xmlns='";
  out += ns::streams_err;
  out += "'/>";
  if (!text.empty()) {
    out += "<text xmlns='";
    out += ns::streams_err;
    out += "'>";
    out += xml::escape(text);
    out += "</text>";
  }
  out += "</stream:error></stream:stream>";
  return out;
}

xml::element iq_result(const xml::element& request) {
  xml::element reply{"iq", ns::client};
  if (auto id = request.attr("id"))
    reply.set_attr("id", *id);
  if (auto to = request.attr("to"))
    reply.set_attr("from", *to);
  if (auto from = request.attr("from"))
    reply.set_attr("to", *from);
  reply.set_attr("type", "result");
  return reply;
}

} // namespace dja::errors

#include "cluster/wire_xml.hpp"

#include "common/stored_xml.hpp"

namespace dja::cluster::wire_xml {

std::string serialize(const xml::element& e) {
  return xml::to_string(e, "jabber:client");
}

xml::element_ptr parse(const std::string& text) {
  return xml::parse_stored(text);
}

} // namespace dja::cluster::wire_xml

// XEP-0128 extended-information forms from declared fields
// (plugins/disco/forms.hpp).

#include "plugins/disco/forms.hpp"

#include <algorithm>

namespace dja::plugins::disco {

namespace {

constexpr const char* ns_data = "jabber:x:data";

xml::element& add_field(xml::element& x, const std::string& var,
                        const std::vector<std::string>& values) {
  auto& f = x.add_child(xml::element{"field", ns_data});
  f.set_attr("var", var);
  for (auto& v : values)
    f.add_child(xml::element{"value", ns_data}).add_text(v);
  return f;
}

} // namespace

std::vector<xml::element> info_forms(const std::vector<info_field>& fields) {
  std::vector<std::string> types;
  for (auto& f : fields)
    if (std::find(types.begin(), types.end(), f.form_type) == types.end())
      types.push_back(f.form_type);
  std::vector<xml::element> res;
  for (auto& t : types) {
    xml::element x{"x", ns_data};
    x.set_attr("type", "result");
    add_field(x, "FORM_TYPE", {t}).set_attr("type", "hidden");
    for (auto& f : fields)
      if (f.form_type == t)
        add_field(x, f.var, f.values);
    res.push_back(std::move(x));
  }
  return res;
}

} // namespace dja::plugins::disco

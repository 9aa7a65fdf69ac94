#define CAF_SUITE plugins.disco.forms

// plugins/disco/{contact,forms}.cpp: the XEP-0157 contact options become
// fields of one http://jabber.org/network/serverinfo form, and the
// XEP-0128 forms group declared fields by FORM_TYPE (one form each,
// FORM_TYPE first), so another plugin's form (XEP-0363 upload limits)
// sits beside it.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "plugins/disco/contact.hpp"
#include "plugins/disco/forms.hpp"

using namespace dja;
using namespace dja::plugins;

namespace {

/// The first <value/> of a field ("" without one).
std::string value(const xml::element& field) {
  auto v = field.first_element();
  return v != nullptr ? v->text() : std::string{};
}

} // namespace

CAF_TEST(contact options become serverinfo fields in XEP-0157 order) {
  auto opts = toml::parse(R"(
    support = ["xmpp:support@localhost", "https://localhost/help"]
    abuse = ["mailto:abuse@localhost"]
  )");
  auto fs = disco::contact_fields(opts);
  CAF_REQUIRE_EQUAL(fs.size(), 2u);
  CAF_CHECK_EQUAL(fs[0].var, "abuse-addresses");
  CAF_CHECK_EQUAL(fs[1].var, "support-addresses");
  CAF_CHECK_EQUAL(fs[1].values.size(), 2u);
  CAF_CHECK_EQUAL(fs[0].form_type, disco::ns_serverinfo);
  CAF_CHECK(disco::contact_fields(toml::table{}).empty());
}

CAF_TEST(addresses must be uris) {
  CAF_CHECK_EQUAL(disco::check_uri("mailto:abuse@localhost"), "");
  CAF_CHECK_EQUAL(disco::check_uri("xmpp:admin@localhost"), "");
  CAF_CHECK_NOT_EQUAL(disco::check_uri("abuse@localhost"), "");
  CAF_CHECK_NOT_EQUAL(disco::check_uri("mailto:"), "");
  CAF_CHECK_NOT_EQUAL(disco::check_uri(":x"), "");
}

CAF_TEST(one form per form type with FORM_TYPE first) {
  std::vector<info_field> fs{
    {disco::ns_serverinfo, "abuse-addresses", {"mailto:a@localhost"}},
    {"urn:xmpp:http:upload:0", "max-file-size", {"1048576"}},
    {disco::ns_serverinfo, "admin-addresses", {"xmpp:b@localhost"}},
  };
  auto forms = disco::info_forms(fs);
  CAF_REQUIRE_EQUAL(forms.size(), 2u);
  auto first = forms[0].elements();
  CAF_REQUIRE_EQUAL(first.size(), 3u);
  CAF_CHECK_EQUAL(forms[0].attr_or("type"), "result");
  CAF_CHECK_EQUAL(first[0]->attr_or("var"), "FORM_TYPE");
  CAF_CHECK_EQUAL(first[0]->attr_or("type"), "hidden");
  CAF_CHECK_EQUAL(value(*first[0]), disco::ns_serverinfo);
  CAF_CHECK_EQUAL(first[1]->attr_or("var"), "abuse-addresses");
  CAF_CHECK_EQUAL(first[2]->attr_or("var"), "admin-addresses");
  auto second = forms[1].elements();
  CAF_REQUIRE_EQUAL(second.size(), 2u);
  CAF_CHECK_EQUAL(value(*second[0]), "urn:xmpp:http:upload:0");
  CAF_CHECK_EQUAL(value(*second[1]), "1048576");
}

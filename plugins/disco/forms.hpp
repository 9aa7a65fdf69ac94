#pragma once

// XEP-0128 Service Discovery Extensions: the info_fields every plugin of
// a vhost declared (hooks/plugin.hpp), as jabber:x:data result forms.

#include <vector>

#include "common/xml.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins::disco {

/// One <x xmlns='jabber:x:data' type='result'/> per FORM_TYPE, in the
/// order the FORM_TYPEs first appear, each with its hidden FORM_TYPE
/// field first (XEP-0068 §2) and then the fields in declaration order.
std::vector<xml::element> info_forms(const std::vector<info_field>& fields);

} // namespace dja::plugins::disco

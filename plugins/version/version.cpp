// version: XEP-0092 Software Version of the server.

#include <sys/utsname.h>

#include <caf/all.hpp>

#include "common/errors.hpp"
#include "common/namespaces.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

caf::behavior version(caf::event_based_actor*, std::string os) {
  using hooks::answer;
  return {
    [os](const hooks::iq_request& r) -> answer<xml::element_ptr> {
      if (!r.to.local().empty())
        return answer<xml::element_ptr>::decline(); // users answer themselves
      auto reply = std::make_shared<xml::element>(errors::iq_result(*r.stanza));
      auto& q = reply->add_child(xml::element{"query", ns::version});
      q.add_child(xml::element{"name", ns::version}).add_text("djabberd-actors");
      q.add_child(xml::element{"version", ns::version}).add_text(DJA_VERSION);
      if (!os.empty())
        q.add_child(xml::element{"os", ns::version}).add_text(os);
      return answer<xml::element_ptr>::handled(reply);
    },
  };
}

} // namespace

DJA_PLUGIN(version) {
  return {
    "version",
    "XEP-0092 Software Version",
    {{"show_os", option_type::boolean, false,
      "also tell the operating system (default false)"}},
    [](const toml::table&) {
      return manifest{{}, {std::string{"get "} + ns::version}, {ns::version},
                      {}};
    },
    [](const spawn_context& ctx) {
      std::string os;
      if (ctx.options["show_os"].value_or(false)) {
        utsname u{};
        if (uname(&u) == 0)
          os = std::string{u.sysname} + " " + u.release;
      }
      return ctx.sys.spawn(version, os);
    },
  };
}

} // namespace dja::plugins

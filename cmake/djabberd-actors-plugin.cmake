# djabberd_actors_add_plugin(NAME SOURCES ...): a plugin library NAME.so
# (docs/plugins.md), built against the SDK target djabberd-actors::sdk
# (the installed one of djabberd-actorsConfig.cmake, or the source tree's
# for the project's own tests).
#
# A MODULE (dlopen'ed, never linked against), without the "lib" prefix so
# that `type = "NAME"` finds NAME.so in plugin_dirs. Its undefined symbols
# (the JID, XML, error and catalogue functions of the SDK headers) are
# resolved at load time from the server executable, which exports them;
# CAF comes from the same libcaf_core.so the server uses. It is compiled
# with DJA_PLUGIN_LIBRARY, so its DJA_PLUGIN line also defines the entry
# point with the library's build identity.
function(djabberd_actors_add_plugin name)
  cmake_parse_arguments(arg "" "" "SOURCES" ${ARGN})
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "djabberd_actors_add_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE djabberd-actors::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF)
endfunction()

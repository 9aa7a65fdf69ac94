# The Debian package (`cpack --config build/CPackConfig.cmake`, or
# `cmake --build build --target package`): what an operator installs with
# `apt-get install ./djabberd-actors_VERSION_ARCH.deb`.
#   /usr/bin/djabberd-actors               the server (and its SDK headers)
#   /etc/djabberd-actors/server.toml       config/server.toml with packaged
#                                          paths (a conffile: kept on upgrade)
#   /lib/systemd/system/djabberd-actors.service   config/debian/ (Type=notify)
#   /var/lib/djabberd-actors               data, made by postinst for the
#                                          system user djabberd-actors
# config/debian/postinst makes the user, the directory and a self-signed
# certificate; postrm purge removes them. tests/e2e/test_package.py builds,
# checks, installs and runs it.

# The packaged configuration: the default one with the data under
# /var/lib/djabberd-actors and the certificate under /etc; the build fails
# when config/server.toml no longer has the lines replaced.
set(DJA_PKG_CONFIG ${PROJECT_BINARY_DIR}/package/server.toml)
file(READ ${PROJECT_SOURCE_DIR}/config/server.toml dja_conf)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/config/server.toml)
foreach(pair
    "data_dir  = \"data\"|data_dir  = \"/var/lib/djabberd-actors\""
    "\"config/tls/localhost.crt\"|\"/etc/djabberd-actors/tls/localhost.crt\""
    "\"config/tls/localhost.key\"|\"/etc/djabberd-actors/tls/localhost.key\"")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 from)
  list(GET pair 1 to)
  string(FIND "${dja_conf}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "config/server.toml: no `${from}` to replace for "
                        "the package (cmake/package.cmake)")
  endif()
  string(REPLACE "${from}" "${to}" dja_conf "${dja_conf}")
endforeach()
string(REPLACE "./build/djabberd-actors user add --config config/server.toml"
  "djabberd-actors user add --config /etc/djabberd-actors/server.toml"
  dja_conf "${dja_conf}")
file(WRITE ${DJA_PKG_CONFIG} "${dja_conf}")

install(FILES ${DJA_PKG_CONFIG} DESTINATION /etc/djabberd-actors
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES config/debian/djabberd-actors.service
  DESTINATION /lib/systemd/system)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME djabberd-actors)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "djabberd-actors developers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "scalable, extensible XMPP server built on the C++ Actor Framework")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES TRUE) # 170 MB with debug information, 10 without
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # libcaf, libssl, ... from the binary
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, openssl")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "xmpp-server")
set(dja_deb_conffiles ${PROJECT_BINARY_DIR}/package/conffiles)
file(WRITE ${dja_deb_conffiles} "/etc/djabberd-actors/server.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${dja_deb_conffiles}
  ${PROJECT_SOURCE_DIR}/config/debian/postinst
  ${PROJECT_SOURCE_DIR}/config/debian/prerm
  ${PROJECT_SOURCE_DIR}/config/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)

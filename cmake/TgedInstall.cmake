# Install layout (GNUInstallDirs): tged in bin, tgedd in sbin, plugins in
# <libdir>/tged/plugins, headers in include/tged, configuration in
# <sysconfdir>/tged with conf.d/, the systemd unit, the SDK files.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/tged/plugin.h abi_line
     REGEX "^#define TGED_PLUGIN_ABI [0-9]+")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" TGED_PLUGIN_ABI "${abi_line}")

# GNUInstallDirs puts a /usr installation's configuration in /etc; any
# other prefix keeps it inside the prefix.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(TGED_CONF_DEST ${CMAKE_INSTALL_FULL_SYSCONFDIR}/tged)
else()
  set(TGED_CONF_DEST ${CMAKE_INSTALL_SYSCONFDIR}/tged)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/etc/tged.conf ${PROJECT_SOURCE_DIR}/etc/records.conf
              ${PROJECT_SOURCE_DIR}/etc/services.json ${PROJECT_SOURCE_DIR}/etc/dnsmasq.leases
        DESTINATION ${TGED_CONF_DEST} COMPONENT core)
install(FILES ${PROJECT_SOURCE_DIR}/etc/conf.d/README
        DESTINATION ${TGED_CONF_DEST}/conf.d COMPONENT core)
# The SQLite part of the sample goes with the sql_sqlite plugin's package.
if(TARGET plugin_sql_sqlite)
  install(FILES ${PROJECT_SOURCE_DIR}/etc/services.sql
          DESTINATION ${TGED_CONF_DEST} COMPONENT sqlite)
  install(FILES ${PROJECT_SOURCE_DIR}/etc/conf.d/50-sqlite.conf
          DESTINATION ${TGED_CONF_DEST}/conf.d COMPONENT sqlite)
endif()

set(SBINDIR ${CMAKE_INSTALL_FULL_SBINDIR})
set(SYSCONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR})
configure_file(${PROJECT_SOURCE_DIR}/etc/tgedd.service
               ${PROJECT_BINARY_DIR}/tgedd.service @ONLY)
set(TGED_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE PATH
    "Where the systemd unit is installed (relative to the prefix)")
install(FILES ${PROJECT_BINARY_DIR}/tgedd.service
        DESTINATION ${TGED_SYSTEMD_UNIT_DIR} COMPONENT core)

# The SDK files find the prefix from where they are installed, so an
# installation can be moved (tests install into a temporary prefix).
file(RELATIVE_PATH PC_PREFIX_FROM_PCDIR
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" PC_PREFIX_FROM_PCDIR "${PC_PREFIX_FROM_PCDIR}")
set(TGED_PLUGIN_DIR_REL ${TGED_PLUGIN_SUBDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/templates/tged-plugin.pc.in
               ${PROJECT_BINARY_DIR}/tged-plugin.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/templates/tged.pc.in
               ${PROJECT_BINARY_DIR}/tged.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tged-plugin.pc ${PROJECT_BINARY_DIR}/tged.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

include(CMakePackageConfigHelpers)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/templates/tgedConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tgedConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tged
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR TGED_PLUGIN_SUBDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tgedConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(EXPORT tgedTargets NAMESPACE tged::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tged COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/tgedConfig.cmake
              ${PROJECT_BINARY_DIR}/tgedConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tged COMPONENT dev)

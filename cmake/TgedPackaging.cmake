# cmake/TgedPackaging.cmake - Debian packages of the install components.
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
#   cmake --build build-deb -j2 && (cd build-deb && cpack)
#
# One package per component, so that a site installs only the plugins it
# uses, and with them only their client libraries:
#   core   -> tged         tgedd, tged, libtged.so.1, the plugins that need
#                          no database client, /etc/tged, the systemd unit
#   sqlite -> tged-sqlite  pgsql -> tged-pgsql  mysql -> tged-mysql
#   dev    -> tged-dev     headers, pkg-config and CMake files
# A plugin names its component with tged_add_plugin(... COMPONENT NAME); any
# other component NAME is packaged as tged-NAME. Only the components that
# this build installs something into are packaged.
#
# Depends: what dpkg-shlibdeps finds for the package's own files, and
# "tged (= VERSION)" for every package but tged. Files in /etc are
# conffiles. No maintainer script touches the service: the admin enables
# it (systemctl enable --now tgedd). CPack itself adds to tged a postinst
# and a postrm that run ldconfig, for libtged.so.1.
#
# Include this file after every install() rule.

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "Packaging: Debian packages want -DCMAKE_INSTALL_PREFIX=/usr "
                 "(this build installs into ${CMAKE_INSTALL_PREFIX})")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tged)
set(CPACK_PACKAGE_VENDOR "The tged developers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(TGED_PACKAGE_CONTACT "The tged developers <tged@example.org>" CACHE STRING
    "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${TGED_PACKAGE_CONTACT}")
# CPack prepends this summary to each component's description unless it is
# CPack's own default: keep the default, so that each package's first line
# is its own.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
# The packages put the files where the binaries look for them: tgedd's
# default configuration and plugin folder are compiled in under this prefix.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# tgedd and tged link libtged.so.1 from their own package: dpkg-shlibdeps
# finds it in the staged tree (this path is relative to the package's
# staging folder).
string(REGEX REPLACE "^/" "" _tged_libdir "${CMAKE_INSTALL_FULL_LIBDIR}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${_tged_libdir})
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_COMPONENT_CORE_DESCRIPTION
"TGED service-discovery responder and client
tgedd answers TGED discovery requests (UDP port 4745) on the local network:
where is the service of type X? It answers from backend plugins: records
in its configuration, JSON files, the environment, DHCP leases. tged asks
the network from the shell; libtged from C.")
set(CPACK_COMPONENT_SQLITE_DESCRIPTION
"TGED responder: records from an SQLite database
The sql_sqlite backend plugin for tgedd.")
set(CPACK_COMPONENT_PGSQL_DESCRIPTION
"TGED responder: records from a PostgreSQL database
The sql_pgsql backend plugin for tgedd.")
set(CPACK_COMPONENT_MYSQL_DESCRIPTION
"TGED responder: records from a MariaDB or MySQL database
The sql_mysql backend plugin for tgedd.")
set(CPACK_COMPONENT_DEV_DESCRIPTION
"TGED responder: development files
Headers, pkg-config and CMake files to build backend plugins for tgedd and
programs that use libtged.")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)

get_cmake_property(_tged_components COMPONENTS)
set(CPACK_COMPONENTS_ALL ${_tged_components})
set(_tged_plugin_packages)
foreach(comp IN LISTS _tged_components)
  string(TOUPPER ${comp} C)
  if(comp STREQUAL "core")
    set(CPACK_DEBIAN_CORE_PACKAGE_NAME tged)
  else()
    set(CPACK_DEBIAN_${C}_PACKAGE_NAME tged-${comp})
    set(CPACK_COMPONENT_${C}_DEPENDS core)
    if(NOT comp STREQUAL "dev")
      list(APPEND _tged_plugin_packages tged-${comp})
    endif()
  endif()
  if(NOT CPACK_COMPONENT_${C}_DESCRIPTION)
    set(CPACK_COMPONENT_${C}_DESCRIPTION
        "TGED responder: the ${comp} backend plugin\nA backend plugin for tgedd.")
  endif()
endforeach()
if(_tged_plugin_packages)
  list(JOIN _tged_plugin_packages ", " CPACK_DEBIAN_CORE_PACKAGE_SUGGESTS)
endif()

# libtged.so.1 is a public library: programs built against it get
# "Depends: tged (>= VERSION)". (CPack's own shlibs file would list every
# plugin too, which has no soname.)
set(_tged_control ${PROJECT_BINARY_DIR}/cpack-control)
file(WRITE ${_tged_control}/core/shlibs "libtged 1 tged (>= ${PROJECT_VERSION})\n")
set(CPACK_DEBIAN_CORE_PACKAGE_CONTROL_EXTRA ${_tged_control}/core/shlibs)
# The conffiles are listed once the files are staged.
set(CPACK_TGED_CONTROL_DIR ${_tged_control})
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/TgedPackagePreBuild.cmake)

include(CPack)

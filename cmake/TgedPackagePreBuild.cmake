# cmake/TgedPackagePreBuild.cmake - run by cpack once the components are
# staged, before the packages are made (CPACK_PRE_BUILD_SCRIPTS).
#
# Without dpkg-shlibdeps, CPack would make packages that depend on none of
# the libraries they link: refuse instead.
find_program(TGED_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NOT TGED_DPKG_SHLIBDEPS)
  message(FATAL_ERROR "dpkg-shlibdeps not found (Debian package dpkg-dev): "
                      "it finds the libraries each package depends on")
endif()

# Every file a package puts in /etc is a conffile: dpkg keeps the admin's
# edits on upgrade and removes the files only on purge. The list is made
# from the staged files, so a file added to /etc needs no change here.
foreach(comp IN LISTS CPACK_COMPONENTS_ALL)
  set(root ${CPACK_TEMPORARY_DIRECTORY}/${comp})
  file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${root}
       ${root}/etc/*)
  if(NOT files)
    continue()
  endif()
  list(SORT files)
  list(TRANSFORM files PREPEND "/")
  list(JOIN files "\n" text)
  set(out ${CPACK_TGED_CONTROL_DIR}/${comp}/conffiles)
  file(WRITE ${out} "${text}\n")
  string(TOUPPER ${comp} C)
  list(APPEND CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA ${out})
endforeach()

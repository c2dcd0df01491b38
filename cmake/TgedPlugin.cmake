# tged_add_plugin(NAME SOURCES src... [LIBS lib...])
# Builds plugins/NAME.so, the file name the loader expects for module NAME.
# [COMPONENT c] names the package it goes to (default: core).
function(tged_add_plugin name)
  cmake_parse_arguments(P "" "COMPONENT" "SOURCES;LIBS" ${ARGN})
  if(NOT P_COMPONENT)
    set(P_COMPONENT core)
  endif()
  add_library(plugin_${name} MODULE ${P_SOURCES})
  set_target_properties(plugin_${name} PROPERTIES
    OUTPUT_NAME ${name} PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${TGED_BUILD_PLUGIN_DIR})
  target_include_directories(plugin_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  if(P_LIBS)
    target_link_libraries(plugin_${name} PRIVATE ${P_LIBS})
  endif()
  install(TARGETS plugin_${name} LIBRARY DESTINATION ${TGED_PLUGIN_SUBDIR}
          COMPONENT ${P_COMPONENT})
endfunction()

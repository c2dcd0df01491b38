# tged_add_plugin(NAME SOURCES src... [LIBS lib...])
# Builds plugins/NAME.so, the file name the loader expects for module NAME.
function(tged_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(plugin_${name} MODULE ${P_SOURCES})
  set_target_properties(plugin_${name} PROPERTIES
    OUTPUT_NAME ${name} PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${TGED_BUILD_PLUGIN_DIR})
  target_include_directories(plugin_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  if(P_LIBS)
    target_link_libraries(plugin_${name} PRIVATE ${P_LIBS})
  endif()
  install(TARGETS plugin_${name} LIBRARY DESTINATION ${TGED_PLUGIN_DIR})
endfunction()

# plugins/sql/sql.cmake - included by each sql_* plugin's CMakeLists.txt.
# The shared SQL layer is compiled into every sql_* plugin rather than
# built as a library of its own: each plugin is one shared object that
# links only its own database client.
set(TGED_SQL_DIR ${CMAKE_CURRENT_LIST_DIR})
set(TGED_SQL_SOURCES
  ${TGED_SQL_DIR}/backend.c ${TGED_SQL_DIR}/cache.c
  ${TGED_SQL_DIR}/params.c ${TGED_SQL_DIR}/worker.c)

# tged_add_sql_plugin(NAME DRIVER file.c LIBS target...)
function(tged_add_sql_plugin name)
  cmake_parse_arguments(P "" "DRIVER;COMPONENT" "LIBS" ${ARGN})
  tged_add_plugin(${name} SOURCES ${P_DRIVER} ${TGED_SQL_SOURCES}
                  LIBS ${P_LIBS} Threads::Threads COMPONENT ${P_COMPONENT})
  target_compile_definitions(plugin_${name} PRIVATE _GNU_SOURCE)
endfunction()

# Helpers to declare tests; used by tests/ and by plugins' own folders.
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
find_package(Python3 COMPONENTS Interpreter REQUIRED)

# A Check suite, run by CTest. Exit code 77 means "skipped".
function(tged_check_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE PkgConfig::CHECK ${T_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include
                             ${PROJECT_SOURCE_DIR}/tests/unit)
  target_compile_definitions(${name} PRIVATE
    TGED_TEST_PLUGIN_DIR="${TGED_BUILD_PLUGIN_DIR}"
    TGED_TEST_BROKEN_DIR="${PROJECT_BINARY_DIR}/tests/broken"
    TGED_TEST_SRC_DIR="${PROJECT_SOURCE_DIR}/tests")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endfunction()

# An integration test: a Python script driving the real binaries.
function(tged_integration_test name script)
  add_test(NAME ${name}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/integration/${script})
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
    ENVIRONMENT "TGED_BUILD_DIR=${PROJECT_BINARY_DIR};TGED_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};TGED_PLUGIN_DIR=${TGED_BUILD_PLUGIN_DIR};TGED_SOURCE_DIR=${PROJECT_SOURCE_DIR};TGED_BROKEN_DIR=${PROJECT_BINARY_DIR}/tests/broken;PYTHONDONTWRITEBYTECODE=1")
endfunction()


# The same integration test with every tgedd under valgrind memcheck.
function(tged_valgrind_test name script)
  find_program(VALGRIND_EXE valgrind)
  if(NOT VALGRIND_EXE OR TGED_SANITIZE)
    return()  # valgrind and the sanitizers do not mix
  endif()
  add_test(NAME valgrind_${name}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/integration/${script})
  set_tests_properties(valgrind_${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1200
    ENVIRONMENT "TGED_VALGRIND=1;TGED_BUILD_DIR=${PROJECT_BINARY_DIR};TGED_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};TGED_PLUGIN_DIR=${TGED_BUILD_PLUGIN_DIR};TGED_SOURCE_DIR=${PROJECT_SOURCE_DIR};TGED_BROKEN_DIR=${PROJECT_BINARY_DIR}/tests/broken;PYTHONDONTWRITEBYTECODE=1")
endfunction()

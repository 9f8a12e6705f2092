# Triad rota planner (SPEC section 7): the design engine, search, hosting and metrics and
# their JSON in libmat; `matctl rota plan`; unit tests; the rota bench (bench/rota.sh).
list(APPEND MAT_LIB_SOURCES daemon/rota.c daemon/rota_json.c)
list(APPEND MAT_UNIT_TESTS rota rota_json)
list(APPEND MATCTL_EXTRA_SOURCES daemon/rota_cli.c)

# This file is included before add_library(mat) and the tests, so targets that link libmat
# are declared at the end of the top-level directory.
function(matd_rota_targets)
  add_executable(rota_bench ${CMAKE_SOURCE_DIR}/bench/rota_bench.c)
  target_link_libraries(rota_bench PRIVATE mat)
  # The CLI is not in libmat (it prints); its unit tests build it into test_rota_json.
  if(TARGET test_rota_json)
    target_sources(test_rota_json PRIVATE ${CMAKE_SOURCE_DIR}/daemon/rota_cli.c)
    target_compile_definitions(test_rota_json PRIVATE MAT_HAVE_ROTA_CLI=1)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL matd_rota_targets)

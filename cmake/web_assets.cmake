# The web app (web/app/*) compiled into matd: each file as it is (web_files) and gzipped
# at build time (web_gz_files, same names), for h_app.c. gzip -n keeps the output
# reproducible (no name or time in the header).
function(matd_web_assets out_plain out_gz)
  file(GLOB files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/app/*)
  set(gz_files)
  foreach(f ${files})
    get_filename_component(base ${f} NAME)
    set(gz ${CMAKE_CURRENT_BINARY_DIR}/web-gz/${base})
    add_custom_command(
      OUTPUT ${gz}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/web-gz
      COMMAND sh -c "gzip -9 -n -c \"$1\" > \"$2\"" sh ${f} ${gz}
      DEPENDS ${f}
      VERBATIM)
    list(APPEND gz_files ${gz})
  endforeach()
  matd_embed(${out_plain} web "${files}")
  matd_embed(${out_gz} web_gz "${gz_files}")
endfunction()

# matd_embed(OUT NAME FILES): write a C file defining
#   const struct embedded_file NAME_files[]; const size_t NAME_count;
# with each file's basename and contents, sorted by name.
function(matd_embed out name files)
  list(SORT files)
  # Pass the list with '|' separators: ';' would split the argument.
  string(REPLACE ";" "|" joined "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAME=${name} -DFILES=${joined}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding ${name}"
    VERBATIM)
endfunction()

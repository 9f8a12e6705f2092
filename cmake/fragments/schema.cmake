# Request-body validation (JSON Schema subset over jansson), UPN checks, pseudonymous
# pupil keys and progress-push parsing (JSON and CSV). Pure libmat code.
list(APPEND MAT_LIB_SOURCES
  daemon/schema.c
  daemon/upn.c
  daemon/pupil_key.c
  daemon/progress_parse.c
)
list(APPEND MAT_UNIT_TESTS schema upn progress_parse)

# Trust-wide priorities calculator and support matching (SPEC section 6).
list(APPEND MAT_LIB_SOURCES daemon/priorities.c)
list(APPEND MAT_UNIT_TESTS priorities)

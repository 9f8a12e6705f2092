/* Names of the termly calendar: academic years ("2025-26") and terms. Pure. */
#ifndef MATD_TERMLY_H
#define MATD_TERMLY_H
#include <stdbool.h>

/* "2025-26": four digits, dash, the next year's last two digits. */
bool academic_year_valid(const char *s);
/* autumn, spring, summer -> 0, 1, 2; -1 otherwise. */
int term_index(const char *s);
/* The same term a year earlier into out[8] ("2024-25"); false for a bad year. */
bool academic_year_previous(const char *year, char out[8]);

#endif

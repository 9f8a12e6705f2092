/* Academic years and terms. */
#include "termly.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool academic_year_valid(const char *s)
{
    if (!s || strlen(s) != 7 || s[4] != '-')
        return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return false;
    int start = atoi(s);
    int next = atoi(s + 5);
    return start >= 1990 && start <= 2200 && (start + 1) % 100 == next;
}

int term_index(const char *s)
{
    static const char *const names[] = {"autumn", "spring", "summer"};
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

bool academic_year_previous(const char *year, char out[8])
{
    if (!academic_year_valid(year))
        return false;
    int start = atoi(year) - 1; /* 1989..2199: always four digits */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d", start, (start + 1) % 100);
    memcpy(out, tmp, 8);
    out[7] = '\0';
    return true;
}

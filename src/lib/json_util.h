/* Small helpers for building the JSON the query and the reports print, each taking
 * ownership of the values it is given so no caller leaks on a failure half-way. */
#ifndef SMSS_JSON_UTIL_H
#define SMSS_JSON_UTIL_H
#include "buf.h"
#include <jansson.h>
#include <stddef.h>

/* An object of n keys and values; every value is taken (released on failure). NULL when
 * a value is NULL (its own allocation failed) or on allocation failure. */
json_t *json_object_of(const char *const *keys, json_t **vals, size_t n);
/* Set key to v in o, taking v; -1 when v is NULL or it cannot be set. */
int json_set(json_t *o, const char *key, json_t *v);
/* An array of the list's strings (as JSON text, invalid UTF-8 replaced). NULL on failure. */
json_t *json_strlist(const struct strlist *l);

#endif

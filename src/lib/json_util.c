#include "json_util.h"
#include "sysenv.h"

json_t *json_object_of(const char *const *keys, json_t **vals, size_t n)
{
    json_t *o = json_object();
    int rc = o ? 0 : -1;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && vals[i])
            rc = json_object_set_new(o, keys[i], vals[i]); /* takes vals[i] either way */
        else {
            rc = -1;
            json_decref(vals[i]);
        }
    }
    if (rc == 0)
        return o;
    json_decref(o);
    return NULL;
}

int json_set(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

json_t *json_strlist(const struct strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++)
        if (json_array_append_new(a, prep_json_string(l->v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

#include "regmodel.h"
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Children and values are kept in insertion order in arrays; once an array is larger
 * than INDEX_FROM, an open-addressing index (slot = position + 1) finds names in O(1),
 * so exporting a whole hive to .reg and reading it back stays linear. */
enum { INDEX_FROM = 8, KEY_NAME_MAX = 255 };

struct name_index {
    uint32_t *slots;
    size_t cap; /* power of two, or 0 */
};

struct reg_key {
    char *name;
    struct reg_key *parent;
    struct reg_key **sub;
    size_t nsub, capsub;
    struct reg_value *val;
    size_t nval, capval;
    struct name_index subidx, validx;
    struct reg_origin origin;
};

struct reg_store {
    struct reg_key root;
    struct strlist sources;
};

static const char *const root_aliases[][2] = {
    {"HKLM", "HKEY_LOCAL_MACHINE"}, {"HKCU", "HKEY_CURRENT_USER"}, {"HKCR", "HKEY_CLASSES_ROOT"},
    {"HKU", "HKEY_USERS"},          {"HKCC", "HKEY_CURRENT_CONFIG"},
};

const char *reg_type_name(uint32_t type)
{
    static const char *const names[] = {"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY",
                                        "REG_DWORD", "REG_DWORD_BIG_ENDIAN", "REG_LINK",
                                        "REG_MULTI_SZ", "REG_RESOURCE_LIST",
                                        "REG_FULL_RESOURCE_DESCRIPTOR",
                                        "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD"};
    static char other[32];
    if (type < sizeof names / sizeof *names)
        return names[type];
    snprintf(other, sizeof other, "REG_TYPE_0x%x", type);
    return other;
}

static inline unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool reg_name_equal(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over folded bytes */
    for (size_t i = 0; i < n; i++)
        h = (h ^ fold((unsigned char)s[i])) * 1099511628211ull;
    return h;
}

/* ---- name index ---------------------------------------------------------------- */

typedef const char *(*name_at_fn)(const struct reg_key *k, size_t i);
static const char *subkey_name_at(const struct reg_key *k, size_t i) { return k->sub[i]->name; }
static const char *value_name_at(const struct reg_key *k, size_t i) { return k->val[i].name; }

static void index_insert(struct name_index *ix, const char *name, size_t pos)
{
    size_t mask = ix->cap - 1, h = (size_t)name_hash(name, strlen(name)) & mask;
    while (ix->slots[h])
        h = (h + 1) & mask;
    ix->slots[h] = (uint32_t)(pos + 1);
}

/* Rebuild for count entries; on allocation failure drop the index (lookups go linear). */
static void index_rebuild(struct name_index *ix, const struct reg_key *k, size_t count,
                          name_at_fn name_at)
{
    if (count <= INDEX_FROM || count > UINT32_MAX / 4) {
        free(ix->slots);
        *ix = (struct name_index){NULL, 0};
        return;
    }
    size_t cap = 16;
    while (cap < count * 2)
        cap *= 2;
    if (cap != ix->cap) {
        free(ix->slots);
        ix->slots = calloc(cap, sizeof *ix->slots);
        ix->cap = ix->slots ? cap : 0;
        if (!ix->slots)
            return;
    } else {
        memset(ix->slots, 0, cap * sizeof *ix->slots);
    }
    for (size_t i = 0; i < count; i++)
        index_insert(ix, name_at(k, i), i);
}

/* Keep the index in step after appending entry pos (count = pos + 1). */
static void index_added(struct name_index *ix, const struct reg_key *k, size_t count,
                        name_at_fn name_at)
{
    if (count <= INDEX_FROM)
        return;
    if (!ix->slots || count * 2 > ix->cap)
        index_rebuild(ix, k, count, name_at);
    else
        index_insert(ix, name_at(k, count - 1), count - 1);
}

/* A stored (NUL-terminated) name equals name[0..n) without case: no strlen needed, as
 * names hold no NUL (a shorter stored name meets its NUL where name has none). */
static bool stored_name_equal(const char *stored, const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)stored[i]) != fold((unsigned char)name[i]))
            return false;
    return stored[n] == '\0';
}

static long index_find(const struct name_index *ix, const struct reg_key *k, size_t count,
                       name_at_fn name_at, const char *name, size_t n)
{
    if (ix->slots) {
        size_t mask = ix->cap - 1, h = (size_t)name_hash(name, n) & mask;
        for (uint32_t s; (s = ix->slots[h]) != 0; h = (h + 1) & mask)
            if (stored_name_equal(name_at(k, s - 1), name, n))
                return (long)(s - 1);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        if (stored_name_equal(name_at(k, i), name, n))
            return (long)i;
    return -1;
}

/* ---- store --------------------------------------------------------------------- */

struct reg_store *reg_store_new(void)
{
    struct reg_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->root.name = strdup("");
    if (!s->root.name || strlist_push(&s->sources, "(unknown)") < 0) {
        free(s->root.name);
        strlist_free(&s->sources);
        free(s);
        return NULL;
    }
    return s;
}

static void key_free_contents(struct reg_key *k)
{
    for (size_t i = 0; i < k->nsub; i++) {
        key_free_contents(k->sub[i]);
        free(k->sub[i]); /* its name with it */
    }
    for (size_t i = 0; i < k->nval; i++)
        free(k->val[i].data); /* the name with it */
    free(k->sub);
    free(k->val);
    free(k->subidx.slots);
    free(k->validx.slots);
}

void reg_store_free(struct reg_store *s)
{
    if (!s)
        return;
    key_free_contents(&s->root);
    free(s->root.name);
    strlist_free(&s->sources);
    free(s);
}

uint32_t reg_store_add_source(struct reg_store *s, const char *description)
{
    for (size_t i = 1; i < s->sources.n; i++)
        if (strcmp(s->sources.v[i], description) == 0)
            return (uint32_t)i;
    if (strlist_push(&s->sources, description) < 0)
        return 0;
    return (uint32_t)(s->sources.n - 1);
}

const char *reg_store_source(const struct reg_store *s, uint32_t index)
{
    return index < s->sources.n ? s->sources.v[index] : s->sources.v[0];
}

const char *reg_origin_format(const struct reg_store *s, struct reg_origin o, char *out,
                              size_t size)
{
    if (o.line)
        snprintf(out, size, "%s:%u", reg_store_source(s, o.source), o.line);
    else
        snprintf(out, size, "%s", reg_store_source(s, o.source));
    return out;
}

struct reg_key *reg_store_root(struct reg_store *s) { return &s->root; }

/* ---- keys ---------------------------------------------------------------------- */

const char *reg_key_name(const struct reg_key *k) { return k->name; }
struct reg_key *reg_key_parent(const struct reg_key *k) { return k->parent; }
struct reg_origin reg_key_origin(const struct reg_key *k) { return k->origin; }
size_t reg_key_subkey_count(const struct reg_key *k) { return k->nsub; }
struct reg_key *reg_key_subkey(const struct reg_key *k, size_t i) { return k->sub[i]; }
size_t reg_key_value_count(const struct reg_key *k) { return k->nval; }
const struct reg_value *reg_key_value(const struct reg_key *k, size_t i) { return &k->val[i]; }

/* A root name, or its abbreviation mapped to the full name. */
static void canonical_component(const struct reg_key *parent, const char **name, size_t *n)
{
    if (parent->parent)
        return;
    for (size_t i = 0; i < sizeof root_aliases / sizeof *root_aliases; i++)
        if (reg_name_equal(*name, *n, root_aliases[i][0], strlen(root_aliases[i][0]))) {
            *name = root_aliases[i][1];
            *n = strlen(*name);
            return;
        }
}

static struct reg_key *subkey_find(const struct reg_key *k, const char *name, size_t n)
{
    canonical_component(k, &name, &n);
    long i = index_find(&k->subidx, k, k->nsub, subkey_name_at, name, n);
    return i < 0 ? NULL : k->sub[i];
}

struct reg_key *reg_key_lookup_n(const struct reg_key *base, const char *path, size_t n)
{
    const struct reg_key *k = base;
    size_t i = 0;
    while (k && i < n) {
        size_t j = i;
        while (j < n && path[j] != '\\')
            j++;
        if (j > i)
            k = subkey_find(k, path + i, j - i);
        i = j + 1;
    }
    return (struct reg_key *)k;
}

struct reg_key *reg_key_lookup(const struct reg_key *base, const char *path)
{
    return reg_key_lookup_n(base, path, strlen(path));
}

static struct reg_key *subkey_add(struct reg_key *k, const char *name, size_t n,
                                  struct reg_origin origin)
{
    canonical_component(k, &name, &n);
    if (k->nsub == k->capsub) {
        size_t cap = k->capsub ? k->capsub * 2 : 4;
        struct reg_key **v = realloc(k->sub, cap * sizeof *v);
        if (!v)
            return NULL;
        k->sub = v;
        k->capsub = cap;
    }
    struct reg_key *c = calloc(1, sizeof *c + n + 1); /* the name right after it */
    if (!c)
        return NULL;
    c->name = memcpy(c + 1, name, n);
    c->name[n] = '\0';
    c->parent = k;
    c->origin = origin;
    k->sub[k->nsub++] = c;
    index_added(&k->subidx, k, k->nsub, subkey_name_at);
    return c;
}

/* A name's length as NT counts it, in UTF-16 units (the limits are in characters). */
static size_t name_units(const char *s, size_t n)
{
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        u += ((c & 0xC0) != 0x80) + (c >= 0xF0);
    }
    return u;
}

struct reg_key *reg_key_create(struct reg_store *s, struct reg_key *base, const char *path,
                               size_t n, struct reg_origin origin)
{
    (void)s;
    struct reg_key *k = base;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && path[j] != '\\')
            j++;
        if (j == i || name_units(path + i, j - i) > KEY_NAME_MAX) {
            errno = EINVAL;
            return NULL;
        }
        struct reg_key *c = subkey_find(k, path + i, j - i);
        if (!c && !(c = subkey_add(k, path + i, j - i, origin))) {
            errno = ENOMEM;
            return NULL;
        }
        k = c;
        i = j + 1;
    }
    return k;
}

void reg_key_delete(struct reg_store *s, struct reg_key *k)
{
    (void)s;
    struct reg_key *p = k->parent;
    if (!p)
        return;
    for (size_t i = 0; i < p->nsub; i++) {
        if (p->sub[i] != k)
            continue;
        memmove(&p->sub[i], &p->sub[i + 1], (p->nsub - i - 1) * sizeof *p->sub);
        p->nsub--;
        break;
    }
    index_rebuild(&p->subidx, p, p->nsub, subkey_name_at);
    key_free_contents(k);
    free(k);
}

char *reg_key_path(const struct reg_key *k)
{
    const struct reg_key *chain[512];
    size_t depth = 0;
    for (const struct reg_key *c = k; c && c->parent && depth < 512; c = c->parent)
        chain[depth++] = c;
    struct buf b = BUF_INIT;
    for (size_t i = depth; i-- > 0;) {
        if (buf_puts(&b, chain[i]->name) < 0 || (i && buf_putc(&b, '\\') < 0)) {
            buf_free(&b);
            return NULL;
        }
    }
    return buf_steal(&b);
}

/* ---- values -------------------------------------------------------------------- */

const struct reg_value *reg_value_get(const struct reg_key *k, const char *name)
{
    long i = index_find(&k->validx, k, k->nval, value_name_at, name, strlen(name));
    return i < 0 ? NULL : &k->val[i];
}

/* A value's data, a NUL and its name in one allocation (one malloc per value: a whole
 * hive read into a store holds hundreds of thousands). */
static uint8_t *value_block(const void *data, size_t len, const char *name, char **name_out)
{
    size_t n = strlen(name);
    if (len > SIZE_MAX / 2 - n) {
        errno = ENOMEM;
        return NULL;
    }
    uint8_t *b = malloc(len + 1 + n + 1);
    if (!b)
        return NULL;
    if (len)
        memcpy(b, data, len);
    b[len] = 0;
    *name_out = memcpy(b + len + 1, name, n + 1);
    return b;
}

int reg_value_set(struct reg_store *s, struct reg_key *k, const char *name, uint32_t type,
                  const void *data, size_t len, struct reg_origin origin)
{
    (void)s;
    long i = index_find(&k->validx, k, k->nval, value_name_at, name, strlen(name));
    char *stored_name;
    if (i >= 0) { /* replaced: the first spelling of the name stays */
        struct reg_value *v = &k->val[i];
        uint8_t *copy = value_block(data, len, v->name, &stored_name);
        if (!copy)
            return -1;
        free(v->data);
        v->data = copy;
        v->name = stored_name;
        v->len = len;
        v->type = type;
        v->origin = origin;
        return 0;
    }
    if (k->nval == k->capval) {
        size_t cap = k->capval ? k->capval * 2 : 4;
        struct reg_value *v = realloc(k->val, cap * sizeof *v);
        if (!v)
            return -1;
        k->val = v;
        k->capval = cap;
    }
    uint8_t *copy = value_block(data, len, name, &stored_name);
    if (!copy)
        return -1;
    k->val[k->nval++] = (struct reg_value){stored_name, type, len, copy, origin};
    index_added(&k->validx, k, k->nval, value_name_at);
    return 0;
}

bool reg_value_delete(struct reg_key *k, const char *name)
{
    long i = index_find(&k->validx, k, k->nval, value_name_at, name, strlen(name));
    if (i < 0)
        return false;
    free(k->val[i].data); /* the name with it */
    memmove(&k->val[i], &k->val[i + 1], (k->nval - (size_t)i - 1) * sizeof *k->val);
    k->nval--;
    index_rebuild(&k->validx, k, k->nval, value_name_at);
    return true;
}

static struct reg_origin remap_origin(struct reg_store *ds, const struct reg_store *ss,
                                      struct reg_origin o)
{
    if (ds == ss)
        return o;
    return (struct reg_origin){reg_store_add_source(ds, reg_store_source(ss, o.source)), o.line};
}

int reg_key_merge(struct reg_store *ds, struct reg_key *dst, const struct reg_store *ss,
                  const struct reg_key *src)
{
    for (size_t i = 0; i < src->nval; i++) {
        const struct reg_value *v = &src->val[i];
        if (reg_value_set(ds, dst, v->name, v->type, v->data, v->len,
                          remap_origin(ds, ss, v->origin)) < 0)
            return -1;
    }
    for (size_t i = 0; i < src->nsub; i++) {
        const struct reg_key *c = src->sub[i];
        struct reg_key *d = reg_key_create(ds, dst, c->name, strlen(c->name),
                                           remap_origin(ds, ss, c->origin));
        if (!d || reg_key_merge(ds, d, ss, c) < 0)
            return -1;
    }
    return 0;
}

/* The registry model: keys holding subkeys and typed values, as NT stores them.
 *
 * Names are UTF-8, kept with their case and compared without ASCII case (NT compares
 * with its upcase table; every name smss reads is ASCII). Value data is kept as the raw
 * bytes the registry stores: string types as UTF-16LE with their terminators, DWORD
 * little-endian, unknown types by number. So whatever is read can be written back
 * exactly. regdata.h turns data into C types.
 *
 * A store has an invisible root whose subkeys are the hive roots (HKEY_LOCAL_MACHINE,
 * HKEY_CURRENT_USER, ...). Paths are '\'-separated; the root names may be abbreviated
 * (HKLM, HKCU, HKCR, HKU, HKCC). Every key and value remembers where it came from
 * (a source index and a line number, 0 when the source has no lines). */
#ifndef SMSS_REGMODEL_H
#define SMSS_REGMODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum reg_type {
    REG_NONE = 0,
    REG_SZ = 1,
    REG_EXPAND_SZ = 2,
    REG_BINARY = 3,
    REG_DWORD = 4,
    REG_DWORD_BIG_ENDIAN = 5,
    REG_LINK = 6,
    REG_MULTI_SZ = 7,
    REG_RESOURCE_LIST = 8,
    REG_FULL_RESOURCE_DESCRIPTOR = 9,
    REG_RESOURCE_REQUIREMENTS_LIST = 10,
    REG_QWORD = 11,
};
/* "REG_SZ", ..., or "REG_TYPE_0xN" (static or thread-unsafe buffer) for unknown types. */
const char *reg_type_name(uint32_t type);

struct reg_origin {
    uint32_t source; /* index given by reg_store_add_source; 0 = unknown */
    uint32_t line;   /* 1-based line in that source; 0 = none */
};

struct reg_value {
    char *name; /* "" is the default value, written @ in .reg files */
    uint32_t type;
    size_t len;
    uint8_t *data; /* len bytes, plus one NUL after them for convenience */
    struct reg_origin origin;
};

struct reg_key;
struct reg_store;

struct reg_store *reg_store_new(void);
void reg_store_free(struct reg_store *s);
/* Register a source description ("config/default.reg", "hive /x/SYSTEM") and return its
 * index (>= 1), or 0 on allocation failure. */
uint32_t reg_store_add_source(struct reg_store *s, const char *description);
const char *reg_store_source(const struct reg_store *s, uint32_t index);
/* "source:line" (or "source") for an origin, into a caller buffer. */
const char *reg_origin_format(const struct reg_store *s, struct reg_origin o, char *out,
                              size_t size);

struct reg_key *reg_store_root(struct reg_store *s);

/* Look a path up below base (base = root: a full path). NULL when absent. */
struct reg_key *reg_key_lookup(const struct reg_key *base, const char *path);
/* Same, for a path of n bytes (not NUL-terminated). */
struct reg_key *reg_key_lookup_n(const struct reg_key *base, const char *path, size_t n);
/* Look up, creating every missing key on the way. NULL with errno ENOMEM, or EINVAL for
 * an empty component or a name over 255 bytes. */
struct reg_key *reg_key_create(struct reg_store *s, struct reg_key *base, const char *path,
                               size_t n, struct reg_origin origin);
/* Delete a key and its subtree (not the root). */
void reg_key_delete(struct reg_store *s, struct reg_key *k);

const char *reg_key_name(const struct reg_key *k);
struct reg_key *reg_key_parent(const struct reg_key *k);
struct reg_origin reg_key_origin(const struct reg_key *k);
/* Full path from the root, malloc'd ("HKEY_LOCAL_MACHINE\\SYSTEM\\..."). */
char *reg_key_path(const struct reg_key *k);
size_t reg_key_subkey_count(const struct reg_key *k);
struct reg_key *reg_key_subkey(const struct reg_key *k, size_t i);     /* insertion order */
size_t reg_key_value_count(const struct reg_key *k);
const struct reg_value *reg_key_value(const struct reg_key *k, size_t i); /* insertion order */

/* The value of that name (no case; "" = default), or NULL. */
const struct reg_value *reg_value_get(const struct reg_key *k, const char *name);
/* Set (create or replace) a value; data is copied. 0, or -1 with errno. A replaced value
 * keeps its place in the order. */
int reg_value_set(struct reg_store *s, struct reg_key *k, const char *name, uint32_t type,
                  const void *data, size_t len, struct reg_origin origin);
/* Delete a value; true when there was one. */
bool reg_value_delete(struct reg_key *k, const char *name);

/* Copy the subtree at src (its values and subkeys, recursively) into dst, replacing values
 * of the same name, keeping origins. 0, or -1 with errno. */
int reg_key_merge(struct reg_store *ds, struct reg_key *dst, const struct reg_store *ss,
                  const struct reg_key *src);

/* ASCII case-insensitive comparison of registry names. */
bool reg_name_equal(const char *a, size_t an, const char *b, size_t bn);

#endif

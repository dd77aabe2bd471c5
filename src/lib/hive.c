/* Reading SYSTEM and SOFTWARE hives with hivex into the registry model.
 *
 * Everything is read into a scratch store first and merged into the caller's store only
 * when the load succeeds, so a hive found damaged half-way adds nothing. hivex's habits
 * shape the code: "not found" returns 0 without setting errno, so errno is cleared before
 * every call that can fail; in unsafe mode it skips unreadable subkeys without a word, so
 * the subkeys it returns are counted against those the key declares. Value data is taken
 * raw (hivex_value_value), never through hivex's string or DWORD helpers. */
#include "hive.h"
#include "buf.h"
#include "utf16.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* NT nests keys at most 512 deep and limits a key name to 255 characters. The regf
 * header is 4 KiB; hivex refuses files shorter than header + one 4 KiB hbin. */
enum { MAX_DEPTH = 512, KEY_NAME_MAX = 255, REGF_HEADER_SIZE = 4096, REGF_MIN_SIZE = 8192 };
/* A badly damaged hive read in unsafe mode could yield a warning per cell: past this many
 * diagnostics, further warnings are only counted. */
enum { MAX_DIAGS = 200 };

#define SYSTEM_ROOT "HKEY_LOCAL_MACHINE\\SYSTEM"
#define SOFTWARE_ROOT "HKEY_LOCAL_MACHINE\\SOFTWARE"

/* Offsets of the nodes already read: in a sound hive every key has one parent, so a node
 * met twice means a loop or a shared subtree in a damaged one. */
struct node_set {
    size_t *slots; /* open addressing; 0 = empty (no node lives at offset 0) */
    size_t cap, n;
};

struct loader {
    hive_h *h;
    const char *path;          /* the file, for diagnostics */
    bool unsafe;
    struct reg_store *scratch; /* receives everything; merged on success */
    struct reg_origin origin;
    struct diags diags;        /* collected here without repeats, handed over at the end */
    size_t unlisted;           /* warnings past MAX_DIAGS */
    struct buf where;          /* path inside the hive of the key being read */
    struct node_set seen;
    bool failed;               /* an error was reported: nothing may be added */
};

/* ---- diagnostics -------------------------------------------------------------------- */

/* "hive PATH", "hive PATH: KEY" or "hive PATH: KEY\VALUE". */
static char *where_text(const struct loader *L, bool in_key, const char *value)
{
    struct buf w = BUF_INIT;
    buf_printf(&w, "hive %s", L->path);
    if (in_key || value)
        buf_printf(&w, ": %s", L->where.len ? L->where.p : "(root key)");
    if (value)
        buf_printf(&w, "\\%s", *value ? value : "(default)");
    return w.p ? buf_steal(&w) : NULL;
}

/* Names and text come from the file: keep each diagnostic on one line. */
static void one_line(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static bool diag_known(const struct diags *d, enum diag_level level, const char *where,
                       const char *message)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].level == level && strcmp(d->v[i].where, where) == 0 &&
            strcmp(d->v[i].message, message) == 0)
            return true;
    return false;
}

/* One diagnostic, unless the same one was already given (the subtrees smss reads share
 * their parents, so a damaged parent is met more than once). */
static void reportv(struct loader *L, enum diag_level level, bool in_key, const char *value,
                    const char *fmt, va_list ap)
{
    if (level == DIAG_ERROR)
        L->failed = true;
    else if (L->diags.n >= MAX_DIAGS) {
        L->unlisted++;
        return;
    }
    char *where = where_text(L, in_key, value);
    struct buf msg = BUF_INIT;
    buf_vprintf(&msg, fmt, ap);
    one_line(where);
    one_line(msg.p);
    if (!where || !msg.p || !diag_known(&L->diags, level, where, msg.p))
        diag_add(&L->diags, level, where, "%s", msg.p ? msg.p : "(out of memory)");
    free(where);
    buf_free(&msg);
}

static void __attribute__((format(printf, 5, 6)))
report(struct loader *L, enum diag_level level, bool in_key, const char *value,
       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reportv(L, level, in_key, value, fmt, ap);
    va_end(ap);
}

/* Damage met while reading the current key: an error in safe mode (the load fails), a
 * warning in unsafe mode (the damaged part is skipped and the rest read). */
static void __attribute__((format(printf, 3, 4)))
damaged(struct loader *L, const char *value, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (L->unsafe)
        report(L, DIAG_WARNING, true, value, "%s; skipped (--hive-unsafe)",
               msg.p ? msg.p : "damaged");
    else
        report(L, DIAG_ERROR, true, value,
               "%s: the hive is damaged; --hive-unsafe reads what it still holds",
               msg.p ? msg.p : "damaged");
    buf_free(&msg);
}

/* hivex's errno, with what it means there: its codes are borrowed ones ("Bad address"
 * says a reference points to no cell). Static buffer: the loader is single-threaded. */
static const char *hivex_error(void)
{
    static char text[160];
    int e = errno ? errno : EINVAL;
    const char *meaning = e == EFAULT ? ": a reference points to no valid cell"
                        : e == ENOTSUP ? ": a record or page is not of the expected kind"
                        : e == EINVAL ? ": a record is not what its reference says"
                        : e == ERANGE ? ": a count or length is beyond any sound hive's"
                        : "";
    snprintf(text, sizeof text, "%s%s", strerror(e), meaning);
    return text;
}

static void out_of_memory(struct loader *L)
{
    report(L, DIAG_ERROR, false, NULL, "out of memory while reading the hive");
}

/* ---- the set of nodes read ---------------------------------------------------------- */

static size_t node_slot(const struct node_set *s, size_t node)
{
    size_t mask = s->cap - 1, i = (node * 0x9E3779B97F4A7C15ull >> 17) & mask;
    while (s->slots[i] && s->slots[i] != node)
        i = (i + 1) & mask;
    return i;
}

/* Record node; 1 when it was new, 0 when already there, -1 on allocation failure. */
static int node_set_add(struct node_set *s, size_t node)
{
    if ((s->n + 1) * 2 > s->cap) {
        struct node_set g = {calloc(s->cap ? s->cap * 2 : 256, sizeof *g.slots),
                             s->cap ? s->cap * 2 : 256, s->n};
        if (!g.slots)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                g.slots[node_slot(&g, s->slots[i])] = s->slots[i];
        free(s->slots);
        *s = g;
    }
    size_t i = node_slot(s, node);
    if (s->slots[i])
        return 0;
    s->slots[i] = node;
    s->n++;
    return 1;
}

static void node_set_clear(struct node_set *s)
{
    if (s->slots)
        memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->n = 0;
}

/* ---- the key path being read -------------------------------------------------------- */

static size_t where_push(struct loader *L, const char *name)
{
    size_t old = L->where.len;
    if ((old && buf_putc(&L->where, '\\') < 0) || buf_puts(&L->where, name) < 0) {
        L->where.len = old;
        if (L->where.p)
            L->where.p[old] = '\0';
        out_of_memory(L); /* the path also places subtrees: no reading on without it */
    }
    return old;
}

static void where_pop(struct loader *L, size_t old)
{
    L->where.len = old;
    if (L->where.p)
        L->where.p[old] = '\0';
}

/* ---- reading nodes ------------------------------------------------------------------ */

/* The subkeys of node (0-terminated, malloc'd), or NULL when the list is unreadable
 * (reported). In unsafe mode hivex leaves out subkeys it cannot read: say so. */
static hive_node_h *node_children(struct loader *L, hive_node_h node, size_t *count)
{
    errno = 0;
    hive_node_h *c = hivex_node_children(L->h, node);
    if (!c) {
        if (errno == ENOMEM)
            out_of_memory(L);
        else
            damaged(L, NULL, "its list of subkeys cannot be read (%s)", hivex_error());
        return NULL;
    }
    size_t n = 0;
    while (c[n])
        n++;
    *count = n;
    errno = 0;
    size_t declared = hivex_node_nr_children(L->h, node);
    if (declared > n)
        damaged(L, NULL, "%zu of its %zu subkeys cannot be read", declared - n, declared);
    return c;
}

/* A subkey's name (malloc'd), or NULL when unreadable or not a possible key name. */
static char *child_name(struct loader *L, hive_node_h child, size_t i, size_t n)
{
    errno = 0;
    char *name = hivex_node_name(L->h, child);
    if (!name) {
        if (errno == ENOMEM)
            out_of_memory(L);
        else
            damaged(L, NULL, "the name of subkey %zu of %zu cannot be read (%s)", i + 1, n,
                    hivex_error());
        return NULL;
    }
    size_t len = strlen(name);
    if (len == 0 || len > KEY_NAME_MAX * 3 || strchr(name, '\\')) {
        damaged(L, NULL, "subkey %zu of %zu has an impossible name \"%s\" (empty, too long "
                "or holding a backslash)", i + 1, n, name);
        free(name);
        return NULL;
    }
    return name;
}

/* The subkey of node called name (no case), 0 when it is absent or cannot be read
 * (reported). *actual receives its name as the hive spells it. */
static hive_node_h child_find(struct loader *L, hive_node_h node, const char *name, size_t len,
                              char **actual)
{
    size_t n = 0;
    hive_node_h *c = node_children(L, node, &n), found = 0;
    for (size_t i = 0; c && i < n && !found && !L->failed; i++) {
        char *cn = child_name(L, c[i], i, n);
        if (cn && reg_name_equal(cn, strlen(cn), name, len)) {
            found = c[i];
            *actual = cn;
        } else {
            free(cn);
        }
    }
    free(c);
    return L->failed ? 0 : found;
}

/* ---- 8-bit strings ------------------------------------------------------------------ */

static bool text_byte(uint8_t c) { return c >= 0x20 || c == '\t' || c == '\n' || c == '\r'; }

/* Is this REG_SZ data 8-bit text (written by a program that gave the registry a char
 * string) rather than UTF-16LE? Such data is text bytes, none zero, then nothing but NUL
 * bytes. Real UTF-16LE differs: Latin text has a zero in every other byte, so its text
 * part ends after one character; other scripts (Cyrillic, Greek, ...) have control bytes
 * (0x04, 0x03) in it; CJK and Hangul text can be all non-zero bytes, but is followed by a
 * NUL unit (two zero bytes on an even offset) as its terminator. So: an odd length, or no
 * NUL unit after the text, means 8-bit, except where both readings give the same text
 * ("a\0") or where neither has a terminator and the bytes are not all plain ASCII (CJK
 * without its terminator, which some programs write). *textlen = the text's length. */
static bool is_8bit_string(const uint8_t *d, size_t len, size_t *textlen)
{
    size_t p = 0;
    while (p < len && d[p])
        p++;
    if (p == 0)
        return false;
    for (size_t i = p; i < len; i++)
        if (d[i])
            return false;
    for (size_t i = 0; i < p; i++)
        if (!text_byte(d[i]))
            return false;
    size_t zeros = len - p;
    *textlen = p;
    if (zeros >= (p % 2 ? 3u : 2u))
        return false; /* a UTF-16 NUL unit follows the text: its terminator */
    if (len % 2)
        return true; /* UTF-16LE has an even length */
    if (zeros == 1)
        return p >= 3; /* "abc\0"; "a\0" is the same text read either way */
    for (size_t i = 0; i < p; i++)
        if (d[i] > 0x7E)
            return false; /* no terminator either way: only plain ASCII is taken as 8-bit */
    return true;
}

/* Convert 8-bit (Windows-1252) text to UTF-16LE with its terminator, into out. */
static int string_from_8bit(const uint8_t *d, size_t n, struct buf *utf8, struct buf *out)
{
    if (cp1252_to_utf8(d, n, utf8) < 0 || utf8_to_utf16le(utf8->p, utf8->len, out) < 0)
        return -1;
    return buf_append(out, "\0", 2);
}

/* ---- reading values ----------------------------------------------------------------- */

/* Store one value. Damage is reported and the value left out; -1 only when the whole load
 * must stop (out of memory). */
static int read_value(struct loader *L, struct reg_key *dst, hive_value_h v, size_t i, size_t n)
{
    errno = 0;
    char *name = hivex_value_key(L->h, v);
    if (!name) {
        if (errno == ENOMEM)
            return out_of_memory(L), -1;
        damaged(L, NULL, "the name of value %zu of %zu cannot be read (%s)", i + 1, n,
                hivex_error());
        return 0;
    }
    hive_type t = hive_t_REG_NONE;
    size_t len = 0;
    char *data = NULL;
    errno = 0;
    if (hivex_value_type(L->h, v, &t, &len) < 0 ||
        (len && !(data = hivex_value_value(L->h, v, &t, &len)))) {
        int r = errno == ENOMEM ? -1 : 0;
        if (r < 0)
            out_of_memory(L);
        else
            damaged(L, name, "its data cannot be read (%s)", hivex_error());
        free(name);
        return r;
    }
    uint32_t type = (uint32_t)t;
    struct buf utf8 = BUF_INIT, wide = BUF_INIT;
    const void *bytes = data;
    size_t textlen = 0;
    int r = 0;
    if ((type == REG_SZ || type == REG_EXPAND_SZ) &&
        is_8bit_string((const uint8_t *)data, len, &textlen)) {
        if (string_from_8bit((const uint8_t *)data, textlen, &utf8, &wide) < 0)
            r = -1;
        else {
            report(L, DIAG_WARNING, true, name,
                   "%s data is stored as 8-bit text, not UTF-16LE: read as Windows-1252 "
                   "\"%s\"; rewrite the value to store it properly",
                   reg_type_name(type), utf8.p);
            bytes = wide.p;
            len = wide.len;
        }
    }
    if (r == 0)
        r = reg_value_set(L->scratch, dst, name, type, bytes, len, L->origin);
    if (r < 0)
        out_of_memory(L);
    buf_free(&utf8);
    buf_free(&wide);
    free(data);
    free(name);
    return r;
}

static int read_values(struct loader *L, hive_node_h node, struct reg_key *dst)
{
    errno = 0;
    hive_value_h *v = hivex_node_values(L->h, node);
    if (!v) {
        if (errno == ENOMEM)
            return out_of_memory(L), -1;
        damaged(L, NULL, "its list of values cannot be read (%s)", hivex_error());
        return 0;
    }
    size_t n = 0;
    while (v[n])
        n++;
    int r = 0;
    for (size_t i = 0; i < n && r == 0 && !L->failed; i++)
        r = read_value(L, dst, v[i], i, n);
    free(v);
    return r;
}

/* ---- walking subtrees --------------------------------------------------------------- */

static int walk(struct loader *L, hive_node_h node, struct reg_key *dst, unsigned depth);

static int walk_child(struct loader *L, hive_node_h child, struct reg_key *dst, size_t i,
                      size_t n, unsigned depth)
{
    char *name = child_name(L, child, i, n);
    if (!name)
        return L->failed ? -1 : 0;
    int r = 0;
    struct reg_key *k = reg_key_create(L->scratch, dst, name, strlen(name), L->origin);
    if (!k) {
        if (errno == ENOMEM)
            r = -1, out_of_memory(L);
        else
            damaged(L, NULL, "subkey %zu of %zu has a name too long for a key \"%s\"", i + 1,
                    n, name);
    } else {
        size_t old = where_push(L, name);
        r = walk(L, child, k, depth + 1);
        where_pop(L, old);
    }
    free(name);
    return r;
}

/* Copy node's values and subkeys, recursively, in hive order, into dst. -1 when the load
 * must stop (an error in safe mode, or out of memory). */
static int walk(struct loader *L, hive_node_h node, struct reg_key *dst, unsigned depth)
{
    int fresh = node_set_add(&L->seen, node);
    if (fresh < 0)
        return out_of_memory(L), -1;
    if (!fresh) {
        damaged(L, NULL, "the key is reached a second time (a loop of keys)");
        return L->failed ? -1 : 0;
    }
    if (depth > MAX_DEPTH) {
        damaged(L, NULL, "keys nest deeper than %d levels", MAX_DEPTH);
        return L->failed ? -1 : 0;
    }
    if (read_values(L, node, dst) < 0 || L->failed)
        return -1;
    size_t n = 0;
    hive_node_h *c = node_children(L, node, &n);
    int r = L->failed ? -1 : 0;
    for (size_t i = 0; c && i < n && r == 0; i++)
        r = walk_child(L, c[i], dst, i, n, depth);
    free(c);
    return r < 0 || L->failed ? -1 : 0;
}

/* Copy the subtree at `sub` (a '\'-separated path below base, whose hive path is in
 * L->where) to the same path below dst, spelt as the hive spells it. A subtree the hive
 * lacks is not copied, and neither are the keys on the way to it. */
static int copy_subtree(struct loader *L, hive_node_h base, struct reg_key *dst, const char *sub)
{
    size_t old = L->where.len, rel = old ? old + 1 : 0; /* where `sub` begins in L->where */
    hive_node_h node = base;
    for (const char *p = sub; *p && node && !L->failed;) {
        size_t n = strcspn(p, "\\");
        char *actual = NULL;
        if (n && (node = child_find(L, node, p, n, &actual)) != 0)
            where_push(L, actual);
        free(actual);
        p += n + (p[n] == '\\');
    }
    int r = L->failed ? -1 : 0;
    if (node && r == 0 && L->where.len > old)
        dst = reg_key_create(L->scratch, dst, L->where.p + rel, L->where.len - rel, L->origin);
    if (node && r == 0 && !dst)
        r = -1, out_of_memory(L);
    if (node && r == 0) {
        node_set_clear(&L->seen);
        r = walk(L, node, dst, 0);
    }
    where_pop(L, old);
    return r;
}

static int copy_subtrees(struct loader *L, hive_node_h base, const char *base_name,
                         const char *dst_path, const char *const *subtrees)
{
    struct reg_key *dst = reg_key_create(L->scratch, reg_store_root(L->scratch), dst_path,
                                         strlen(dst_path), L->origin);
    if (!dst)
        return out_of_memory(L), -1;
    size_t old = where_push(L, base_name);
    int r = 0;
    if (!subtrees)
        r = copy_subtree(L, base, dst, "");
    for (size_t i = 0; subtrees && subtrees[i] && r == 0; i++)
        r = copy_subtree(L, base, dst, subtrees[i]);
    where_pop(L, old);
    return r;
}

/* ---- SYSTEM and SOFTWARE ------------------------------------------------------------ */

/* Select\Current: the number of the control set in use. Checked for type and size before
 * use: hivex_value_dword answers -1 both on error and for 0xFFFFFFFF. */
static int select_current(struct loader *L, hive_node_h select, uint32_t *current)
{
    errno = 0;
    hive_value_h *v = hivex_node_values(L->h, select);
    if (!v) {
        report(L, DIAG_ERROR, false, NULL,
               "Select\\Current cannot be read: the list of values of Select is damaged (%s)",
               hivex_error());
        return -1;
    }
    hive_value_h found = 0;
    size_t unreadable = 0;
    for (size_t i = 0; v[i] && !found; i++) {
        errno = 0;
        char *name = hivex_value_key(L->h, v[i]);
        if (name && reg_name_equal(name, strlen(name), "Current", 7))
            found = v[i];
        unreadable += !name;
        free(name);
    }
    free(v);
    hive_type t = hive_t_REG_NONE;
    size_t len = 0;
    char *data = NULL;
    errno = 0;
    if (!found) {
        report(L, DIAG_ERROR, false, NULL,
               "Select\\Current is missing%s: a SYSTEM hive names its current control set "
               "there (Current = 1 selects ControlSet001)",
               unreadable ? " (some value names of Select are damaged)" : "");
    } else if (hivex_value_type(L->h, found, &t, &len) < 0 || t != hive_t_REG_DWORD ||
               len != 4 || !(data = hivex_value_value(L->h, found, &t, &len)) || len != 4) {
        report(L, DIAG_ERROR, false, NULL,
               "Select\\Current is %s of %zu bytes, not the REG_DWORD (4 bytes) naming the "
               "current control set", reg_type_name((uint32_t)t), len);
    } else {
        const uint8_t *b = (const uint8_t *)data;
        *current = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                   (uint32_t)b[3] << 24;
    }
    free(data);
    return L->failed ? -1 : 0;
}

static int load_system(struct loader *L, hive_node_h root, hive_node_h select,
                       const char *const *subtrees)
{
    size_t old = where_push(L, "Select");
    uint32_t current = 0;
    int r = select_current(L, select, &current);
    where_pop(L, old);
    if (r < 0)
        return -1;
    char cs_name[32];
    snprintf(cs_name, sizeof cs_name, "ControlSet%03u", current);
    char *actual = NULL;
    hive_node_h cs = child_find(L, root, cs_name, strlen(cs_name), &actual);
    if (!cs) {
        if (!L->failed)
            report(L, DIAG_ERROR, false, NULL,
                   "%s is missing, though Select\\Current = %u names it as the current "
                   "control set", cs_name, current);
        return -1;
    }
    const char *const select_only[] = {"Select", NULL};
    r = copy_subtrees(L, root, "", SYSTEM_ROOT, select_only);
    if (r == 0)
        r = copy_subtrees(L, cs, actual, SYSTEM_ROOT "\\CurrentControlSet", subtrees);
    free(actual);
    return r;
}

/* The names of the root's subkeys, for the message about a hive of unknown kind. */
static char *root_names(struct loader *L, hive_node_h root)
{
    struct buf b = BUF_INIT;
    size_t n = 0;
    hive_node_h *c = node_children(L, root, &n);
    for (size_t i = 0; c && i < n && i < 12; i++) {
        errno = 0;
        char *name = hivex_node_name(L->h, c[i]);
        buf_printf(&b, "%s%s", i ? ", " : "", name ? name : "(unreadable)");
        free(name);
    }
    if (n > 12)
        buf_puts(&b, ", ...");
    free(c);
    if (!b.p || !b.len)
        buf_puts(&b, "no keys at all");
    return b.p ? buf_steal(&b) : NULL;
}

static int load_hive(struct loader *L, const char *const *subtrees)
{
    errno = 0;
    hive_node_h root = hivex_root(L->h);
    if (!root) {
        report(L, DIAG_ERROR, false, NULL, "its root key cannot be read (%s)", hivex_error());
        return -1;
    }
    char *actual = NULL;
    hive_node_h select = child_find(L, root, "Select", 6, &actual);
    free(actual);
    actual = NULL;
    if (L->failed)
        return -1;
    if (select)
        return load_system(L, root, select, subtrees);
    hive_node_h microsoft = child_find(L, root, "Microsoft", 9, &actual);
    free(actual);
    if (L->failed)
        return -1;
    if (microsoft)
        return copy_subtrees(L, root, "", SOFTWARE_ROOT, subtrees);
    char *names = root_names(L, root);
    report(L, DIAG_ERROR, false, NULL,
           "neither a SYSTEM hive (a Select key at its root) nor a SOFTWARE hive (a "
           "Microsoft key at its root); its root holds: %s",
           names ? names : "?");
    free(names);
    return -1;
}

/* ---- the file ----------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What hivex does not check or say: a clear reason for files that are no hive at all or
 * cut short, and a warning for a hive saved uncleanly, whose transaction logs (which
 * hivex does not apply) hold changes the file lacks. */
static int check_header(struct loader *L)
{
    int fd = open(L->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        report(L, DIAG_ERROR, false, NULL, "cannot open the hive: %s", strerror(errno));
        return -1;
    }
    uint8_t hd[REGF_HEADER_SIZE];
    off_t size = lseek(fd, 0, SEEK_END);
    ssize_t got = size < 0 ? -1 : pread(fd, hd, sizeof hd, 0);
    int e = errno;
    close(fd);
    if (got < 0) {
        report(L, DIAG_ERROR, false, NULL, "cannot read the hive: %s", strerror(e));
        return -1;
    }
    if (got < 4 || memcmp(hd, "regf", 4) != 0) {
        report(L, DIAG_ERROR, false, NULL,
               "not a registry hive: a hive file begins with \"regf\"%s", got < 4 ?
               " and this one is shorter than that" : ", this one does not");
        return -1;
    }
    if (size < REGF_MIN_SIZE) {
        report(L, DIAG_ERROR, false, NULL,
               "the hive is truncated: %lld bytes, less than the %d of the smallest hive",
               (long long)size, REGF_MIN_SIZE);
        return -1;
    }
    uint64_t expected = (uint64_t)le32(hd + 0x28) + REGF_HEADER_SIZE;
    if ((uint64_t)size < expected)
        report(L, L->unsafe ? DIAG_WARNING : DIAG_ERROR, false, NULL,
               "the hive is truncated: its header counts %llu bytes, the file has %lld; %s",
               (unsigned long long)expected, (long long)size,
               L->unsafe ? "keys stored in the missing part are lost"
                         : "--hive-unsafe reads what it still holds");
    if (le32(hd + 4) != le32(hd + 8))
        report(L, DIAG_WARNING, false, NULL,
               "the hive was not saved cleanly (sequence numbers %u and %u differ): changes "
               "still in its transaction logs (.LOG1, .LOG2) are not applied, so values may "
               "be out of date", le32(hd + 4), le32(hd + 8));
    return L->failed ? -1 : 0;
}

static int open_hive(struct loader *L)
{
    if (check_header(L) < 0)
        return -1;
    errno = 0;
    L->h = hivex_open(L->path, L->unsafe ? HIVEX_OPEN_UNSAFE : 0);
    if (L->h)
        return 0;
    if (L->unsafe)
        report(L, DIAG_ERROR, false, NULL, "cannot read the hive even in unsafe mode (%s)",
               hivex_error());
    else
        report(L, DIAG_ERROR, false, NULL,
               "cannot read the hive (%s): its structure is damaged; --hive-unsafe reads "
               "what it still holds", hivex_error());
    return -1;
}

int hive_load(struct reg_store *store, const char *path, const char *const *subtrees,
              unsigned flags, struct diags *diags)
{
    struct loader L = {.path = path, .unsafe = (flags & HIVE_UNSAFE) != 0,
                       .diags = DIAGS_INIT, .where = BUF_INIT};
    struct buf source = BUF_INIT;
    int r = -1;
    if (buf_printf(&source, "hive %s", path) < 0 || !(L.scratch = reg_store_new()) ||
        !(L.origin.source = reg_store_add_source(L.scratch, source.p)))
        out_of_memory(&L);
    else if (open_hive(&L) == 0 && load_hive(&L, subtrees) == 0 && !L.failed) {
        if (!reg_store_add_source(store, source.p) ||
            reg_key_merge(store, reg_store_root(store), L.scratch,
                          reg_store_root(L.scratch)) < 0)
            out_of_memory(&L);
        else
            r = 0;
    }
    if (L.h)
        hivex_close(L.h);
    reg_store_free(L.scratch);
    free(L.seen.slots);
    buf_free(&L.where);
    if (L.unlisted)
        diag_add(&L.diags, DIAG_WARNING, source.p ? source.p : path,
                 "%zu more damaged places are not listed", L.unlisted);
    buf_free(&source);
    diags_move(diags, &L.diags);
    return r;
}

/* --print-config: the effective configuration as a .reg file regedit would import.
 *
 * The keys smss reads are written as the store holds them, under their canonical paths
 * (a hive's ControlSet00N as CurrentControlSet). A value smss would take from its
 * default because the store lacks it is shown as a "; default:" comment in its key, so
 * importing the output changes nothing and printing it again gives the same text. */
#include "config.h"
#include "regtext.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int write_default_comment(struct regtext_writer *w, const struct sm_default *d)
{
    struct buf line = BUF_INIT;
    int r = buf_printf(&line, "default: \"%s\" = ", d->name);
    if (d->type == REG_DWORD) {
        r |= buf_printf(&line, "dword:%08x", d->dword);
    } else if (d->list) {
        if (!d->list[0])
            r |= buf_puts(&line, "(empty list)");
        for (size_t i = 0; d->list[i]; i++)
            r |= buf_printf(&line, "%s\"%s\"", i ? " | " : "", d->list[i]);
    } else {
        r |= buf_printf(&line, "\"%s\"%s", d->text, d->type == REG_EXPAND_SZ ? " (expandable)" : "");
    }
    if (r == 0)
        r = regtext_write_comment(w, line.p);
    buf_free(&line);
    return r;
}

/* The defaults of key_path that the key (may be NULL) does not hold. */
static int write_missing_defaults(struct regtext_writer *w, const struct reg_key *k,
                                  const char *key_path)
{
    for (const struct sm_default *d = smss_config_defaults; d->key; d++) {
        if (strcasecmp(d->key, key_path) || (k && reg_value_get(k, d->name)))
            continue;
        if (write_default_comment(w, d) < 0)
            return -1;
    }
    return 0;
}

/* A key under its canonical path: header, values, missing defaults, then subkeys. */
static int write_key(struct regtext_writer *w, const struct reg_key *k, const char *path)
{
    int r = regtext_write_key_header(w, path);
    for (size_t i = 0; r == 0 && k && i < reg_key_value_count(k); i++)
        r = regtext_write_value(w, reg_key_value(k, i));
    if (r == 0)
        r = write_missing_defaults(w, k, path);
    if (r == 0)
        r = buf_putc(&w->text, '\n');
    for (size_t i = 0; r == 0 && k && i < reg_key_subkey_count(k); i++) {
        const struct reg_key *sub = reg_key_subkey(k, i);
        struct buf p = BUF_INIT;
        r = buf_printf(&p, "%s\\%s", path, reg_key_name(sub));
        if (r == 0)
            r = write_key(w, sub, p.p);
        buf_free(&p);
    }
    return r;
}

/* Keys that have defaults but are absent from the store, so their defaults show too:
 * those below Session Manager, or the others. Each is written where the key would be
 * written if present, so reading the output back and printing again gives the same text. */
static int write_absent_default_keys(struct regtext_writer *w, const struct reg_store *store,
                                     bool session_manager)
{
    struct reg_key *root = reg_store_root((struct reg_store *)store);
    struct reg_key *sm = smss_config_sm_key(store);
    for (const struct sm_default *d = smss_config_defaults; d->key; d++) {
        if (d != smss_config_defaults && !strcasecmp(d[-1].key, d->key))
            continue; /* one header per key */
        if (!strncasecmp(d->key, SM_KEY, strlen(SM_KEY)) != session_manager)
            continue;
        const struct reg_key *k;
        if (!strncasecmp(d->key, SM_KEY, strlen(SM_KEY)))
            k = !sm ? NULL : d->key[strlen(SM_KEY)] ? reg_key_lookup(sm, d->key + strlen(SM_KEY) + 1) : sm;
        else
            k = reg_key_lookup(root, d->key);
        if (k)
            continue;
        if (regtext_write_key_header(w, d->key) < 0 || write_missing_defaults(w, NULL, d->key) < 0 ||
            buf_putc(&w->text, '\n') < 0)
            return -1;
    }
    return 0;
}

int smss_config_print(const struct reg_store *store, struct buf *out, bool utf16)
{
    static const char *const other_control_keys[] = {"Control\\MiniNT", "Control\\SafeBoot\\Option",
                                                     "Services", NULL};
    struct regtext_writer w;
    regtext_writer_init(&w);
    struct reg_key *ccs = smss_config_current_control_set(store);
    struct reg_key *sm = smss_config_sm_key(store);
    int r = sm ? write_key(&w, sm, SM_KEY) : 0;
    if (r == 0)
        r = write_absent_default_keys(&w, store, true);
    for (size_t i = 0; r == 0 && ccs && other_control_keys[i]; i++) {
        const struct reg_key *k = reg_key_lookup(ccs, other_control_keys[i]);
        char path[256];
        snprintf(path, sizeof path, "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\%s",
                 other_control_keys[i]);
        if (k)
            r = write_key(&w, k, path);
    }
    const struct reg_key *winlogon =
        reg_key_lookup(reg_store_root((struct reg_store *)store), SM_WINLOGON_KEY);
    if (r == 0)
        r = winlogon ? write_key(&w, winlogon, SM_WINLOGON_KEY)
                     : write_absent_default_keys(&w, store, false);
    if (r == 0)
        r = regtext_writer_finish(&w, utf16 ? REGTEXT_UTF16LE : REGTEXT_UTF8, out);
    regtext_writer_free(&w);
    return r;
}

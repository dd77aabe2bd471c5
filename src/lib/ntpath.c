#include "ntpath.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ntpath_rules_free(struct ntpath_rules *r)
{
    for (int i = 0; i < 26; i++)
        free(r->drive_root[i]);
    free(r->system_root);
    memset(r, 0, sizeof *r);
}

int ntpath_rules_default(struct ntpath_rules *r, const char *system_root)
{
    memset(r, 0, sizeof *r);
    r->drive_root['C' - 'A'] = strdup("/");
    r->system_root = system_root ? strdup(system_root) : NULL;
    if (!r->drive_root['C' - 'A'] || (system_root && !r->system_root)) {
        ntpath_rules_free(r);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int ntpath_rules_from_config(struct ntpath_rules *r, const struct smss_config *c,
                             const char *system_root)
{
    if (ntpath_rules_default(r, system_root))
        return -1;
    for (size_t i = 0; c && i < c->dos_devices.n; i++) {
        const struct sm_named *e = &c->dos_devices.v[i];
        if (strlen(e->name) != 2 || e->name[1] != ':' || !isalpha((unsigned char)e->name[0]) ||
            !e->value || e->value[0] != '/')
            continue;
        int k = toupper((unsigned char)e->name[0]) - 'A';
        free(r->drive_root[k]);
        if (!(r->drive_root[k] = strdup(e->value))) {
            ntpath_rules_free(r);
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

static bool is_sep(char c) { return c == '\\' || c == '/'; }

/* Strip a prefix without ASCII case; returns the rest or NULL. */
static const char *strip(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* Append the components of rest (separated by '\' or '/') to base. */
static int join_components(const char *base, const char *rest, char **out, const char **why)
{
    size_t blen = strlen(base);
    while (blen > 1 && base[blen - 1] == '/')
        blen--;
    char *p = malloc(blen + strlen(rest) + 2);
    if (!p)
        return *why = NULL, errno = ENOMEM, -1;
    memcpy(p, base, blen);
    size_t n = blen;
    while (*rest) {
        while (is_sep(*rest))
            rest++;
        size_t len = 0;
        while (rest[len] && !is_sep(rest[len]))
            len++;
        if (len == 0)
            break;
        if ((len == 1 && rest[0] == '.') || (len == 2 && rest[0] == '.' && rest[1] == '.'))
            return free(p), *why = "'.' and '..' components are not allowed", -1;
        if (memchr(rest, ':', len))
            return free(p), *why = "':' after the drive names an alternate data stream, which Linux does not have", -1;
        if (n == 0 || p[n - 1] != '/')
            p[n++] = '/';
        memcpy(p + n, rest, len);
        n += len;
        rest += len;
    }
    if (n == 0)
        p[n++] = '/';
    p[n] = 0;
    *out = p;
    return 0;
}

static int map_drive(const struct ntpath_rules *r, const char *s, char **out, const char **why)
{
    if (!isalpha((unsigned char)s[0]) || s[1] != ':')
        return *why = "not an absolute path (expected X:\\..., \\??\\X:\\... or \\SystemRoot\\...)", -1;
    if (!is_sep(s[2]))
        return *why = "a drive-relative path (X:name) has no fixed meaning", -1;
    const char *root = r->drive_root[toupper((unsigned char)s[0]) - 'A'];
    if (!root)
        return *why = "the drive has no Linux root (add an \"X:\" entry to Session Manager\\DOS Devices)", -1;
    return join_components(root, s + 2, out, why);
}

int ntpath_to_linux(const struct ntpath_rules *r, const char *nt, char **out, const char **why)
{
    const char *rest;
    *out = NULL;
    if (!nt || !*nt)
        return *why = "empty path", -1;
    if (nt[0] == '/')
        return join_components("/", nt, out, why);
    if ((rest = strip(nt, "\\??\\UNC\\")) || (rest = strip(nt, "\\\\?\\UNC\\")))
        return *why = "a UNC path (network share) has no Linux file", -1;
    if ((rest = strip(nt, "\\??\\")) || (rest = strip(nt, "\\\\?\\")) ||
        (rest = strip(nt, "\\DosDevices\\")) || (rest = strip(nt, "\\GLOBAL??\\")))
        return map_drive(r, rest, out, why);
    if ((rest = strip(nt, "\\SystemRoot")) && (is_sep(*rest) || !*rest)) {
        if (!r->system_root)
            return *why = "\\SystemRoot has no Linux directory here", -1;
        return join_components(r->system_root, rest, out, why);
    }
    if (strip(nt, "\\\\.\\") || strip(nt, "\\Device\\"))
        return *why = "a device path has no Linux file", -1;
    if (is_sep(nt[0]) && is_sep(nt[1]))
        return *why = "a UNC path (network share) has no Linux file", -1;
    if (is_sep(nt[0]))
        return *why = "an NT object path outside \\??, \\DosDevices and \\SystemRoot", -1;
    return map_drive(r, nt, out, why);
}

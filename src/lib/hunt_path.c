#include "hunt_path.h"
#include "buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *hunt_lower(const char *s)
{
    char *d = strdup(s ? s : "");
    if (d)
        for (char *p = d; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Length of a "\device\harddiskvolumeN" (or ...\harddiskN\partitionN, \mup is left
 * alone) prefix at s, 0 when there is none. */
static size_t device_prefix(const char *s)
{
    static const char *const devs[] = {"\\device\\harddiskvolume", "\\device\\cdrom",
                                       "\\device\\harddisk"};
    for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
        size_t n = strlen(devs[i]);
        if (strncmp(s, devs[i], n) != 0)
            continue;
        while (isdigit((unsigned char)s[n]))
            n++;
        if (strncmp(s + n, "\\partition", 10) == 0)
            for (n += 10; isdigit((unsigned char)s[n]);)
                n++;
        return n;
    }
    return 0;
}

/* Replace the system-root spellings at the front of s (already lower case). */
static int windows_prefix(struct buf *out, const char *s, const char *root)
{
    static const char *const roots[] = {"%%systemroot%%", "%systemroot%", "\\systemroot",
                                        "%%windir%%",     "%windir%",     "systemroot"};
    for (;;) {
        if (strncmp(s, "\\??\\", 4) == 0 || strncmp(s, "\\\\?\\", 4) == 0 ||
            strncmp(s, "\\\\.\\", 4) == 0) {
            s += 4;
            continue;
        }
        break;
    }
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        size_t n = strlen(roots[i]);
        if (strncmp(s, roots[i], n) == 0 && (s[n] == '\\' || s[n] == '\0'))
            return buf_puts(out, root) < 0 || buf_puts(out, s + n) < 0 ? -1 : 0;
    }
    size_t dev = device_prefix(s);
    if (dev || (s[0] == '\\' && s[1] != '\\')) {
        /* The system drive: the volume device and a rooted path both name it. */
        if (buf_append(out, root, 2) < 0)
            return -1;
        return buf_puts(out, s + dev);
    }
    return buf_puts(out, s);
}

static void collapse(char *s, char sep)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == sep && w > s && w[-1] == sep && w - 1 != s)
            continue;
        *w++ = *r;
    }
    *w = '\0';
}

char *hunt_path_normalize(const char *path, const char *system_root)
{
    if (!path)
        return NULL;
    while (*path == ' ' || *path == '"')
        path++;
    if (path[0] == '/') {
        char *d = strdup(path);
        if (d)
            collapse(d, '/');
        return d;
    }
    char *low = hunt_lower(path);
    char *root = hunt_lower(system_root ? system_root : "C:\\Windows");
    struct buf out = BUF_INIT;
    char *result = NULL;
    if (low && root) {
        for (char *p = low; *p; p++)
            if (*p == '/')
                *p = '\\';
        for (char *p = root; *p; p++)
            if (*p == '/')
                *p = '\\';
        size_t n = strlen(low);
        while (n && (low[n - 1] == '"' || low[n - 1] == ' '))
            low[--n] = '\0';
        if (windows_prefix(&out, low, root) == 0 && buf_puts(&out, "") == 0) {
            result = buf_steal(&out);
            collapse(result, '\\');
        }
    }
    buf_free(&out);
    free(low);
    free(root);
    return result;
}

const char *hunt_path_basename(const char *path)
{
    if (!path)
        return NULL;
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            b = p + 1;
    return b;
}

/* End of the first word of a command line (quotes honoured). */
static const char *first_word_end(const char *s)
{
    if (*s == '"') {
        const char *q = strchr(s + 1, '"');
        return q ? q + 1 : s + strlen(s);
    }
    while (*s && *s != ' ' && *s != '\t')
        s++;
    return s;
}

char *hunt_cmdline_image(const char *cmdline)
{
    if (!cmdline)
        return NULL;
    while (*cmdline == ' ' || *cmdline == '\t')
        cmdline++;
    const char *end = first_word_end(cmdline);
    const char *start = cmdline;
    if (*start == '"') {
        start++;
        if (end > start && end[-1] == '"')
            end--;
    }
    return strndup(start, (size_t)(end - start));
}

const char *hunt_cmdline_args(const char *cmdline, size_t *len)
{
    *len = 0;
    if (!cmdline)
        return "";
    while (*cmdline == ' ' || *cmdline == '\t')
        cmdline++;
    const char *a = first_word_end(cmdline);
    while (*a == ' ' || *a == '\t')
        a++;
    size_t n = strlen(a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\r' || a[n - 1] == '\n'))
        n--;
    *len = n;
    return a;
}

static bool hex8(const char *s, size_t n)
{
    if (n != 8)
        return false;
    for (size_t i = 0; i < 8; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool hunt_args_session_child(const char *args, size_t len)
{
    size_t i = 0;
    while (i < len && args[i] != ' ' && args[i] != '\t')
        i++;
    if (!hex8(args, i))
        return false;
    size_t j = i;
    while (j < len && (args[j] == ' ' || args[j] == '\t'))
        j++;
    return j > i && hex8(args + j, len - j);
}

#include "hunt_path.h"

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

/* The system-root spellings at the front of s (already lower case) replaced by root,
 * into out (room for strlen(s) + strlen(root) + 3 bytes). */
static void windows_prefix(char *out, const char *s, const char *root)
{
    static const char *const roots[] = {"%%systemroot%%", "%systemroot%", "\\systemroot",
                                        "%%windir%%",     "%windir%",     "systemroot"};
    if (s[0] != '\\' && s[0] != '%' && s[0] != 's') { /* "c:\\...": none of them */
        strcpy(out, s);
        return;
    }
    while (strncmp(s, "\\??\\", 4) == 0 || strncmp(s, "\\\\?\\", 4) == 0 ||
           strncmp(s, "\\\\.\\", 4) == 0)
        s += 4;
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        size_t n = strlen(roots[i]);
        if (strncmp(s, roots[i], n) == 0 && (s[n] == '\\' || s[n] == '\0')) {
            strcpy(stpcpy(out, root), s + n);
            return;
        }
    }
    size_t dev = device_prefix(s);
    if (dev || (s[0] == '\\' && s[1] != '\\')) {
        /* The system drive: the volume device and a rooted path both name it. */
        size_t drive = strnlen(root, 2);
        memcpy(out, root, drive);
        out[drive] = '\0';
        if (drive == 2)
            strcpy(out + 2, s + dev);
        return;
    }
    strcpy(out, s);
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

/* s[0..n) in ASCII lower case with '/' as '\' into out (NUL-terminated). */
static void lower_backslashed(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c == '/' ? '\\' : c;
    }
    out[n] = '\0';
}

/* One allocation for the result; the lower-case copies it is made from live on the
 * stack when they fit (an image path is normalised for every process). */
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
    const char *root_src = system_root ? system_root : "C:\\Windows";
    size_t n = strlen(path), rn = strlen(root_src);
    while (n && (path[n - 1] == '"' || path[n - 1] == ' '))
        n--;
    char stack[512], *low = n + rn + 2 <= sizeof stack ? stack : malloc(n + rn + 2);
    char *result = malloc(n + rn + 3);
    if (low && result) {
        char *root = low + n + 1;
        lower_backslashed(low, path, n);
        lower_backslashed(root, root_src, rn);
        windows_prefix(result, low, root);
        collapse(result, '\\');
    } else {
        free(result);
        result = NULL;
    }
    if (low != stack)
        free(low);
    return result;
}

const char *hunt_path_basename(const char *path)
{
    if (!path)
        return NULL;
    const char *back = strrchr(path, '\\'), *slash = strrchr(path, '/');
    const char *sep = !back ? slash : !slash ? back : back > slash ? back : slash;
    return sep ? sep + 1 : path;
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

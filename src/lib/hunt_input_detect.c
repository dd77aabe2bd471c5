/* Which reader a file needs, from its first bytes. */
#include "hunt_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const names[] = {
    [HUNT_FMT_AUTO] = "auto",
    [HUNT_FMT_EVTX] = "evtx",
    [HUNT_FMT_JSONL] = "jsonl",
    [HUNT_FMT_VOLATILITY_JSON] = "volatility-json",
    [HUNT_FMT_VOLATILITY_TEXT] = "volatility-text",
    [HUNT_FMT_CSV] = "csv",
    [HUNT_FMT_HIVE] = "hive",
    [HUNT_FMT_REG] = "reg",
    [HUNT_FMT_UNKNOWN] = "unknown",
};

const char *hunt_format_name(enum hunt_format f)
{
    return (unsigned)f <= HUNT_FMT_UNKNOWN ? names[f] : "unknown";
}

enum hunt_format hunt_format_parse(const char *word)
{
    for (int i = 0; i < HUNT_FMT_UNKNOWN; i++)
        if (!strcasecmp(word, names[i]))
            return (enum hunt_format)i;
    if (!strcasecmp(word, "json"))
        return HUNT_FMT_JSONL;
    return HUNT_FMT_UNKNOWN;
}

static bool has(const char *h, size_t n, const char *needle)
{
    return memmem(h, n, needle, strlen(needle)) != NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

enum hunt_format hunt_format_detect(const char *path, const void *head, size_t n)
{
    const unsigned char *u = head;
    const char *h = head;
    if (n >= 8 && !memcmp(h, "ElfFile", 8))
        return HUNT_FMT_EVTX;
    if (n >= 4 && !memcmp(h, "regf", 4))
        return HUNT_FMT_HIVE;
    if (n >= 2 && u[0] == 0xFF && u[1] == 0xFE)
        return HUNT_FMT_REG; /* regedit's UTF-16LE */
    size_t i = 0;
    if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        i = 3;
    while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r' || h[i] == '\n'))
        i++;
    if (n - i >= 8 && (!strncmp(h + i, "Windows Registry Editor", n - i < 23 ? n - i : 23) ||
                       !strncmp(h + i, "REGEDIT4", 8)))
        return HUNT_FMT_REG;
    if (i < n && h[i] == '[')
        return HUNT_FMT_VOLATILITY_JSON;
    if (i < n && h[i] == '{')
        return HUNT_FMT_JSONL;
    if (has(h, n, "Volatility 3") || has(h, n, "PID\tPPID"))
        return HUNT_FMT_VOLATILITY_TEXT;
    const char *nl = memchr(h + i, '\n', n - i);
    size_t first = nl ? (size_t)(nl - (h + i)) : n - i;
    if (memchr(h + i, ',', first) || !strncmp(h + i, "#TYPE", 5))
        return HUNT_FMT_CSV;
    if (path) {
        if (ends_with(path, ".evtx"))
            return HUNT_FMT_EVTX;
        if (ends_with(path, ".reg"))
            return HUNT_FMT_REG;
        if (ends_with(path, ".csv"))
            return HUNT_FMT_CSV;
        if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson"))
            return HUNT_FMT_JSONL;
    }
    return HUNT_FMT_UNKNOWN;
}

enum hunt_format hunt_format_detect_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HUNT_FMT_UNKNOWN;
    char head[4096];
    ssize_t n = read(fd, head, sizeof head);
    int e = errno;
    close(fd);
    if (n < 0) {
        errno = e;
        return HUNT_FMT_UNKNOWN;
    }
    errno = 0;
    return hunt_format_detect(path, head, (size_t)n);
}

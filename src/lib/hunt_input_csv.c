/* A process listing as CSV: Get-CimInstance Win32_Process | Export-Csv (ProcessId,
 * ParentProcessId, Name, ExecutablePath, CommandLine, SessionId, CreationDate, Priority;
 * a "#TYPE" first line is skipped), Process Explorer's export (Process, PID, Parent PID,
 * Path, Command Line, User Name, Session, Start Time; tab- or comma-separated), and
 * similar lists. Columns are found by their header names, in any order. */
#include "buf.h"
#include "hunt_event.h"
#include "hunt_snapshot.h"
#include "utf16.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum col { C_PID, C_PPID, C_NAME, C_IMAGE, C_CMD, C_SESSION, C_START, C_USER, C_PRIO, C_COUNT };

static const char *const aliases[C_COUNT][6] = {
    [C_PID] = {"ProcessId", "PID", "Process ID", "Id", NULL},
    [C_PPID] = {"ParentProcessId", "Parent PID", "PPID", "ParentId", NULL},
    [C_NAME] = {"Name", "Process", "Process Name", "ProcessName", "ImageFileName", NULL},
    [C_IMAGE] = {"ExecutablePath", "Path", "Image Path", "Image", "Executable", NULL},
    [C_CMD] = {"CommandLine", "Command Line", "Cmd", NULL},
    [C_SESSION] = {"SessionId", "Session", "Session ID", NULL},
    [C_START] = {"CreationDate", "Start Time", "CreateTime", "StartTime", NULL},
    [C_USER] = {"User Name", "UserName", "User", "Owner", NULL},
    [C_PRIO] = {"Priority", "Base Priority", "BasePriority", NULL},
};

/* One CSV record from text at *pos (RFC 4180 quotes, fields may span lines). Fields are
 * written NUL-separated into out; returns how many, 0 at the end. */
static size_t csv_record(const char *t, size_t len, size_t *pos, char sep, struct buf *out,
                         size_t *offs, size_t max, unsigned *line)
{
    size_t n = 0;
    out->len = 0;
    if (*pos >= len)
        return 0;
    offs[n++] = 0;
    bool quoted = false;
    for (; *pos < len; (*pos)++) {
        char c = t[*pos];
        if (quoted) {
            if (c == '"' && *pos + 1 < len && t[*pos + 1] == '"') {
                buf_putc(out, '"');
                (*pos)++;
            } else if (c == '"') {
                quoted = false;
            } else {
                if (c == '\n')
                    (*line)++;
                buf_putc(out, c);
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == sep) {
            buf_putc(out, '\0');
            if (n < max)
                offs[n++] = out->len;
        } else if (c == '\n') {
            (*pos)++;
            (*line)++;
            break;
        } else if (c != '\r') {
            buf_putc(out, c);
        }
    }
    buf_putc(out, '\0');
    return n;
}

/* "3/19/2019 8:41:11 PM", "20190319204111.123456+000" (WMI), or ISO 8601. */
static int64_t csv_time(const char *s)
{
    if (!s || !*s)
        return HUNT_TIME_UNKNOWN;
    int64_t t = hunt_time_parse(s);
    if (t != HUNT_TIME_UNKNOWN)
        return t;
    struct tm tm = {0};
    int mo, d, y, h, mi, se;
    char ampm[3] = "";
    if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &y, &mo, &d, &h, &mi, &se) == 6 && strlen(s) >= 14 &&
        isdigit((unsigned char)s[13])) {
        tm = (struct tm){.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                         .tm_min = mi, .tm_sec = se};
        return (int64_t)timegm(&tm) * HUNT_SECOND;
    }
    int k = sscanf(s, "%d/%d/%d %d:%d:%d %2s", &mo, &d, &y, &h, &mi, &se, ampm);
    if (k >= 6 && y > 1600) {
        if (k == 7 && !strcasecmp(ampm, "PM") && h < 12)
            h += 12;
        if (k == 7 && !strcasecmp(ampm, "AM") && h == 12)
            h = 0;
        tm = (struct tm){.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                         .tm_min = mi, .tm_sec = se};
        return (int64_t)timegm(&tm) * HUNT_SECOND;
    }
    return HUNT_TIME_UNKNOWN;
}

static char *opt(const char *s) { return s && *s ? strdup(s) : NULL; }

/* The file as UTF-8 (PowerShell 5 may write UTF-16LE with a byte-order mark). */
static int load_text(const char *path, struct buf *text, struct diags *d)
{
    struct buf raw = BUF_INIT;
    if (read_file(path, &raw) < 0) {
        diag_add(d, DIAG_ERROR, path, "cannot read: %s", strerror(errno));
        buf_free(&raw);
        return -1;
    }
    const unsigned char *u = (const unsigned char *)raw.p;
    int rc = 0;
    if (raw.len >= 2 && u[0] == 0xFF && u[1] == 0xFE) {
        rc = utf16le_to_utf8(raw.p + 2, (raw.len - 2) & ~(size_t)1, text);
        if (rc < 0)
            diag_add(d, DIAG_ERROR, path, "not valid UTF-16LE text");
    } else {
        size_t skip = raw.len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF ? 3 : 0;
        rc = buf_append(text, raw.p ? raw.p + skip : "", raw.len - skip);
    }
    buf_free(&raw);
    return rc;
}

int hunt_input_csv(const char *path, hunt_record_fn fn, void *ctx, struct hunt_input_stats *st,
                   struct diags *d)
{
    struct buf text = BUF_INIT, rec = BUF_INIT;
    if (load_text(path, &text, d) < 0) {
        buf_free(&text);
        return -1;
    }
    const char *t = text.p ? text.p : "";
    size_t len = text.len, pos = 0;
    unsigned line = 1;
    if (!strncmp(t, "#TYPE", 5)) { /* Export-Csv's type line */
        const char *nl = memchr(t, '\n', len);
        pos = nl ? (size_t)(nl - t) + 1 : len;
        line++;
    }
    const char *nl = memchr(t + pos, '\n', len - pos);
    size_t first = nl ? (size_t)(nl - (t + pos)) : len - pos;
    char sep = memchr(t + pos, '\t', first) && !memchr(t + pos, ',', first) ? '\t' : ',';
    size_t offs[128];
    int idx[C_COUNT];
    size_t nh = csv_record(t, len, &pos, sep, &rec, offs, 128, &line);
    for (int c = 0; c < C_COUNT; c++) {
        idx[c] = -1;
        for (size_t k = 0; k < nh && idx[c] < 0; k++)
            for (int a = 0; aliases[c][a] && idx[c] < 0; a++)
                if (!strcasecmp(rec.p + offs[k], aliases[c][a]))
                    idx[c] = (int)k;
    }
    if (idx[C_PID] < 0) {
        diag_at(d, DIAG_ERROR, path, line - 1, 0, "no process ID column (ProcessId or PID) in "
                "the header: not a process listing");
        buf_free(&text);
        buf_free(&rec);
        return -1;
    }
    struct hunt_snapshot s = {0};
    int rc = 0;
    size_t n;
    unsigned at = line;
    while (rc == 0 && (at = line, n = csv_record(t, len, &pos, sep, &rec, offs, 128, &line))) {
        if (n == 1 && rec.p[0] == '\0')
            continue; /* a blank line */
        st->records++;
#define F(c) (idx[c] >= 0 && (size_t)idx[c] < n ? rec.p + offs[idx[c]] : NULL)
        int64_t pid = hunt_parse_pid(F(C_PID));
        if (pid < 0) {
            diag_at(d, DIAG_WARNING, path, at, 0, "no process ID in this row; skipped");
            st->bad++;
            continue;
        }
        int64_t sess = hunt_parse_pid(F(C_SESSION)), prio = hunt_parse_pid(F(C_PRIO));
        struct hunt_snap_row r = {
            .pid = pid, .ppid = hunt_parse_pid(F(C_PPID)), .name = opt(F(C_NAME)),
            .image = opt(F(C_IMAGE)), .cmdline = opt(F(C_CMD)), .user = opt(F(C_USER)),
            .session = sess >= 0 && sess < 1000000 ? (int)sess : -1,
            .priority = (int)prio, .has_priority = prio >= 0 && prio <= 31,
            .start = csv_time(F(C_START)), .exit = HUNT_TIME_UNKNOWN, .line = at};
#undef F
        rc = hunt_snapshot_add(&s, &r);
    }
    if (rc == 0)
        rc = hunt_snapshot_emit(&s, path, "csv", fn, ctx, st);
    hunt_snapshot_free(&s);
    buf_free(&text);
    buf_free(&rec);
    return rc;
}

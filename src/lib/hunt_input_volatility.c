/* Volatility 3 windows.pslist / windows.pstree output, JSON renderer (a list of rows,
 * pstree's children nested under "__children") or the text renderer (a tab-separated
 * table after a "PID PPID ImageFileName ..." header; pstree marks depth with '*').
 * Columns are found by name: PID, PPID, ImageFileName, SessionId, CreateTime, ExitTime,
 * and pstree's Path and Cmd where present. */
#include "buf.h"
#include "hunt_event.h"
#include "hunt_path.h"
#include "hunt_snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int64_t opt_int(const char *s)
{
    return hunt_parse_pid(s);
}

static char *opt_str(const char *s)
{
    if (!s || !*s || !strcmp(s, "N/A") || !strcmp(s, "-") || !strcmp(s, "None"))
        return NULL;
    return strdup(s);
}

/* ------------------------------------------------------------------ JSON */

static const char *jtext(json_t *row, const char *key, char *num, size_t size)
{
    json_t *v = json_object_get(row, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, size, "%lld", (long long)json_integer_value(v));
        return num;
    }
    return NULL;
}

static int json_rows(json_t *arr, struct hunt_snapshot *s, uint64_t *count)
{
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) {
        if (!json_is_object(row))
            continue;
        char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32];
        const char *pid = jtext(row, "PID", a, sizeof a);
        (*count)++;
        if (pid && opt_int(pid) >= 0) {
            const char *sess = jtext(row, "SessionId", c, sizeof c);
            const char *path = jtext(row, "Path", d, sizeof d);
            struct hunt_snap_row r = {
                .pid = opt_int(pid), .ppid = opt_int(jtext(row, "PPID", b, sizeof b)),
                .name = opt_str(jtext(row, "ImageFileName", e, sizeof e)),
                .image = opt_str(path), .cmdline = opt_str(jtext(row, "Cmd", f, sizeof f)),
                .session = sess && opt_int(sess) >= 0 ? (int)opt_int(sess) : -1,
                .start = hunt_time_parse(jtext(row, "CreateTime", g, sizeof g)),
                .exit = hunt_time_parse(jtext(row, "ExitTime", h, sizeof h)), .line = *count};
            if (hunt_snapshot_add(s, &r) < 0)
                return -1;
        }
        json_t *kids = json_object_get(row, "__children");
        if (json_is_array(kids) && json_rows(kids, s, count) < 0)
            return -1;
    }
    return 0;
}

static int read_json(const char *path, struct hunt_snapshot *s, struct hunt_input_stats *st,
                     struct diags *d)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!json_is_array(root)) {
        if (root)
            diag_add(d, DIAG_ERROR, path, "not a Volatility 3 JSON listing (expected a JSON "
                     "array of rows from -r json windows.pslist or windows.pstree)");
        else
            diag_at(d, DIAG_ERROR, path, (unsigned)err.line, (unsigned)err.column,
                    "not valid JSON: %s", err.text);
        json_decref(root);
        return -1;
    }
    int rc = json_rows(root, s, &st->records);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ text */

enum col { C_PID, C_PPID, C_NAME, C_SESSION, C_CREATE, C_EXIT, C_PATH, C_CMD, C_COUNT };
static const char *const col_names[C_COUNT] = {"PID", "PPID", "ImageFileName", "SessionId",
                                               "CreateTime", "ExitTime", "Path", "Cmd"};

/* Split a line at tabs into at most max fields (in place). */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t)
            break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

static int read_text(const char *path, struct hunt_snapshot *s, struct hunt_input_stats *st,
                     struct diags *d)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        diag_add(d, DIAG_ERROR, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    int idx[C_COUNT];
    bool header = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *fields[64];
        size_t nf = split_tabs(line, fields, 64);
        if (!header) {
            for (int c = 0; c < C_COUNT; c++) {
                idx[c] = -1;
                for (size_t k = 0; k < nf; k++)
                    if (!strcmp(fields[k], col_names[c]))
                        idx[c] = (int)k;
            }
            header = idx[C_PID] >= 0 && idx[C_PPID] >= 0;
            continue;
        }
        if (nf < 2)
            continue;
        /* pstree: "** 368" — depth stars and a blank before the PID. */
        char *pidf = fields[idx[C_PID]];
        while (*pidf == '*' || *pidf == ' ')
            pidf++;
        st->records++;
        int64_t pid = opt_int(pidf);
        if (pid < 0) {
            diag_at(d, DIAG_WARNING, path, lineno, 0, "no PID in this row; skipped");
            st->bad++;
            continue;
        }
#define FIELD(c) (idx[c] >= 0 && (size_t)idx[c] < nf ? fields[idx[c]] : NULL)
        const char *sess = FIELD(C_SESSION);
        struct hunt_snap_row r = {
            .pid = pid, .ppid = opt_int(FIELD(C_PPID)), .name = opt_str(FIELD(C_NAME)),
            .image = opt_str(FIELD(C_PATH)), .cmdline = opt_str(FIELD(C_CMD)),
            .session = sess && opt_int(sess) >= 0 ? (int)opt_int(sess) : -1,
            .start = hunt_time_parse(FIELD(C_CREATE)), .exit = hunt_time_parse(FIELD(C_EXIT)),
            .line = lineno};
#undef FIELD
        rc = hunt_snapshot_add(s, &r);
    }
    free(line);
    fclose(f);
    if (rc == 0 && !header) {
        diag_add(d, DIAG_ERROR, path, "no \"PID<TAB>PPID<TAB>...\" header: not Volatility 3 "
                 "text output of windows.pslist or windows.pstree");
        rc = -1;
    }
    return rc;
}

int hunt_input_volatility(const char *path, enum hunt_format fmt, hunt_record_fn fn, void *ctx,
                          struct hunt_input_stats *st, struct diags *d)
{
    struct hunt_snapshot s = {0};
    int rc = fmt == HUNT_FMT_VOLATILITY_JSON ? read_json(path, &s, st, d)
                                             : read_text(path, &s, st, d);
    if (rc == 0)
        rc = hunt_snapshot_emit(&s, path, fmt == HUNT_FMT_VOLATILITY_JSON ? "volatility json"
                                                                          : "volatility text",
                                fn, ctx, st);
    hunt_snapshot_free(&s);
    return rc;
}

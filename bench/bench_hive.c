/* --print-config from a real SYSTEM hive against the floor of reading it with hivex.
 *
 *   hive-print-config-ratio: X (goal: < 3.0)
 *
 * Measured: hive_load(store, SYSTEM-win7, smss_config_system_subtrees) followed by
 * smss_config_print. Floor, on the same file in the same run: hivex_open, finding
 * Select\Current and the control set it names, walking Control\Session Manager reading
 * every value with hivex_value_value, hivex_close: the least any hive reader does. The
 * two alternate, RUNS times each; the medians are compared. Details go to stderr. */
#include "buf.h"
#include "config.h"
#include "diag.h"
#include "hive.h"
#include "regmodel.h"

#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RUNS = 21 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* ---- the floor ------------------------------------------------------------------------ */

/* Every value of node and its subkeys, read; the number of values. */
static size_t floor_walk(hive_h *h, hive_node_h node)
{
    size_t count = 0;
    hive_value_h *v = hivex_node_values(h, node);
    for (size_t i = 0; v && v[i]; i++) {
        hive_type t;
        size_t len;
        free(hivex_value_value(h, v[i], &t, &len));
        count++;
    }
    free(v);
    hive_node_h *c = hivex_node_children(h, node);
    for (size_t i = 0; c && c[i]; i++)
        count += floor_walk(h, c[i]);
    free(c);
    return count;
}

static size_t floor_read(const char *path)
{
    hive_h *h = hivex_open(path, 0);
    if (!h)
        return 0;
    hive_node_h root = hivex_root(h), select = hivex_node_get_child(h, root, "Select");
    hive_value_h cur = select ? hivex_node_get_value(h, select, "Current") : 0;
    hive_type t = hive_t_REG_NONE;
    size_t len = 0, count = 0;
    char *data = cur ? hivex_value_value(h, cur, &t, &len) : NULL;
    if (data && t == hive_t_REG_DWORD && len == 4) {
        char name[32];
        unsigned char *b = (unsigned char *)data;
        snprintf(name, sizeof name, "ControlSet%03u",
                 (unsigned)(b[0] | b[1] << 8 | b[2] << 16 | (unsigned)b[3] << 24));
        hive_node_h cs = hivex_node_get_child(h, root, name);
        hive_node_h control = cs ? hivex_node_get_child(h, cs, "Control") : 0;
        hive_node_h sm = control ? hivex_node_get_child(h, control, "Session Manager") : 0;
        if (sm)
            count = floor_walk(h, sm);
    }
    free(data);
    hivex_close(h);
    return count;
}

/* ---- what smss does ------------------------------------------------------------------- */

static size_t print_config(const char *path)
{
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    struct buf out = BUF_INIT;
    size_t n = 0;
    if (s && hive_load(s, path, smss_config_system_subtrees, 0, &d) == 0 &&
        smss_config_print(s, &out, false) == 0)
        n = out.len;
    else
        diags_print(&d, 2);
    buf_free(&out);
    diags_free(&d);
    reg_store_free(s);
    return n;
}

/* ---- setup ---------------------------------------------------------------------------- */

/* SYSTEM-win7.xz unpacked into a temporary file; 0, or -1 when it cannot be. */
static int unpack(const char *xz, char *path, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, size, "%s/bench_hive.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        execlp("xz", "xz", "-dc", xz, (char *)NULL);
        _exit(127);
    }
    close(fd);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
        unlink(path);
        return -1;
    }
    return 0;
}

int main(void)
{
    const char *data = getenv("SMSS_DATA"), *top = getenv("SMSS_TOP");
    char dir[4096], xz[4200], path[4200];
    snprintf(dir, sizeof dir, "%s", data && *data ? data : "");
    if (!*dir)
        snprintf(dir, sizeof dir, "%s/../shared/data", top && *top ? top : ".");
    snprintf(xz, sizeof xz, "%s/SYSTEM-win7.xz", dir);
    struct stat st;
    if (stat(xz, &st) != 0) {
        fprintf(stderr, "bench_hive: skipped: %s is absent (set SMSS_DATA)\n", xz);
        return 0;
    }
    if (unpack(xz, path, sizeof path) < 0) {
        fprintf(stderr, "bench_hive: cannot unpack %s with xz\n", xz);
        return 1;
    }
    double ours[RUNS], floor_t[RUNS];
    size_t values = 0, printed = 0;
    for (int i = 0; i < RUNS; i++) {
        double t0 = now();
        values = floor_read(path);
        double t1 = now();
        printed = print_config(path);
        double t2 = now();
        floor_t[i] = t1 - t0;
        ours[i] = t2 - t1;
        if (!values || !printed)
            break;
    }
    unlink(path);
    if (!values || !printed) {
        fprintf(stderr, "bench_hive: the hive could not be read (%zu values, %zu bytes printed)\n",
                values, printed);
        return 1;
    }
    double m_ours = median(ours, RUNS), m_floor = median(floor_t, RUNS);
    fprintf(stderr, "# hive_load + smss_config_print: %.2f ms (median of %d, %zu bytes of .reg); "
                    "floor (hivex open, Select, walk of Session Manager, %zu values): %.2f ms\n",
            m_ours * 1e3, RUNS, printed, values, m_floor * 1e3);
    printf("hive-print-config-ratio: %.2f (goal: < 3.0)\n", m_ours / m_floor);
    return 0;
}

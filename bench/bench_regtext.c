/* Reading a large .reg file against the floor of splitting it into lines.
 *
 *   regtext-parse-vs-split-ratio: X (goal: <= 4.0)
 *
 * Input, made in the run: the real Windows 7 SYSTEM hive read whole (hive_load with no
 * subtree list) and written with the writer as regedit writes, UTF-16LE with CRLF: tens
 * of MB. Without the data folder, a synthetic store of the same shape (keys of a few
 * values: strings, DWORDs, binary, multi-strings) is written instead, and the output says
 * so. Floor: reading the file into memory and splitting the UTF-16LE code units into
 * lines, recording where each starts (what a getline loop does; no parsing). Measured:
 * reading the file and regtext_load_buffer into a fresh store. Freeing the store is
 * timed apart. The two alternate RUNS times; the medians of their CPU times are
 * compared. Details to stderr. */
#include "buf.h"
#include "diag.h"
#include "hive.h"
#include "regdata.h"
#include "regmodel.h"
#include "regtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { RUNS = 15 };

/* CPU time of this process: both sides are single-threaded CPU work, and CPU time is
 * not moved by other processes sharing the machine as wall time is. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* ---- the input ----------------------------------------------------------------- */

/* The Windows 7 SYSTEM hive, read whole. NULL when the data folder lacks it. */
static struct reg_store *hive_store(const char *tmpdir)
{
    const char *data = getenv("SMSS_DATA");
    char xz[1024], hive[1024], cmd[3000];
    snprintf(xz, sizeof xz, "%s/SYSTEM-win7.xz", data ? data : "../shared/data");
    if (access(xz, R_OK) != 0)
        return NULL;
    snprintf(hive, sizeof hive, "%s/SYSTEM", tmpdir);
    snprintf(cmd, sizeof cmd, "xz -dc '%s' >'%s'", xz, hive);
    if (system(cmd) != 0)
        return NULL;
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    if (hive_load(s, hive, NULL, 0, &d) < 0) {
        diags_print(&d, 2);
        reg_store_free(s);
        s = NULL;
    }
    diags_free(&d);
    unlink(hive);
    return s;
}

/* Keys of a few values each, as a SYSTEM hive holds them. */
static struct reg_store *synthetic_store(void)
{
    struct reg_store *s = reg_store_new();
    struct reg_origin o = {0, 0};
    struct buf sz = BUF_INIT, multi = BUF_INIT;
    regdata_from_string("%SystemRoot%\\System32\\drivers\\example.sys", &sz);
    static const char *const m[] = {"Group One", "Group Two", "Third"};
    regdata_from_multi(m, 3, &multi);
    uint8_t bin[96];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i * 37);
    char path[256];
    for (unsigned i = 0; i < 8500; i++) { /* about the size of the real export */
        snprintf(path, sizeof path, "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\Svc%u\\"
                                    "Parameters\\Sub%u", i / 8, i % 8);
        struct reg_key *k = reg_key_create(s, reg_store_root(s), path, strlen(path), o);
        uint32_t d = i;
        reg_value_set(s, k, "ImagePath", REG_EXPAND_SZ, sz.p, sz.len, o);
        reg_value_set(s, k, "DisplayName", REG_SZ, sz.p, sz.len, o);
        reg_value_set(s, k, "Start", REG_DWORD, &d, 4, o);
        reg_value_set(s, k, "Type", REG_DWORD, &d, 4, o);
        reg_value_set(s, k, "DependOnGroup", REG_MULTI_SZ, multi.p, multi.len, o);
        reg_value_set(s, k, "Data", REG_BINARY, bin, i % 5 ? 16 : sizeof bin, o);
    }
    buf_free(&sz);
    buf_free(&multi);
    return s;
}

static int write_input(struct reg_store *s, const char *path)
{
    struct regtext_writer w;
    regtext_writer_init(&w);
    struct reg_key *root = reg_store_root(s);
    for (size_t i = 0; i < reg_key_subkey_count(root); i++)
        if (regtext_write_key(&w, reg_key_subkey(root, i), true) < 0)
            return -1;
    struct buf out = BUF_INIT;
    int r = regtext_writer_finish(&w, REGTEXT_UTF16LE, &out);
    regtext_writer_free(&w);
    FILE *f = r == 0 ? fopen(path, "wb") : NULL;
    if (!f || fwrite(out.p, 1, out.len, f) != out.len || fclose(f) != 0)
        r = -1;
    buf_free(&out);
    return r;
}

/* ---- the two sides ------------------------------------------------------------- */

static size_t *line_starts;
static size_t line_cap;

/* The floor: the file in memory, split into lines over its UTF-16LE code units. */
static size_t floor_split(const char *path)
{
    struct buf b = BUF_INIT;
    if (read_file(path, &b) < 0)
        return 0;
    const unsigned char *p = (const unsigned char *)b.p;
    size_t n = 0;
    for (size_t i = 2; i + 1 < b.len; i += 2) {
        if (i == 2 || (p[i - 2] == '\n' && p[i - 1] == 0)) {
            if (n == line_cap) {
                line_cap = line_cap ? line_cap * 2 : 1 << 16;
                line_starts = realloc(line_starts, line_cap * sizeof *line_starts);
            }
            line_starts[n++] = i;
        }
    }
    buf_free(&b);
    return n;
}

/* Measured: the file in memory, read into a fresh store; *free_s = time to free it. */
static size_t parse(const char *path, double *free_s)
{
    struct buf b = BUF_INIT;
    if (read_file(path, &b) < 0)
        return 0;
    struct reg_store *s = reg_store_new();
    struct diags d = DIAGS_INIT;
    int r = regtext_load_buffer(s, path, b.p, b.len, &d);
    buf_free(&b);
    if (r < 0)
        diags_print(&d, 2);
    diags_free(&d);
    size_t keys = reg_key_subkey_count(reg_store_root(s));
    double t = now();
    reg_store_free(s);
    *free_s = now() - t;
    return r == 0 ? keys : 0;
}

int main(void)
{
    char tmpdir[] = "/tmp/bench_regtext.XXXXXX";
    if (!mkdtemp(tmpdir)) {
        perror("bench_regtext: mkdtemp");
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/system.reg", tmpdir);
    struct reg_store *s = hive_store(tmpdir);
    const char *input = "the Windows 7 SYSTEM hive exported whole";
    if (!s) {
        s = synthetic_store();
        input = "a synthetic store (SYSTEM-win7.xz not found in SMSS_DATA)";
    }
    int r = write_input(s, path);
    reg_store_free(s);
    if (r < 0) {
        fprintf(stderr, "bench_regtext: cannot write %s\n", path);
        rmdir(tmpdir);
        return 1;
    }
    struct buf probe = BUF_INIT;
    read_file(path, &probe);
    size_t size = probe.len;
    buf_free(&probe);

    double split[RUNS], load[RUNS], frees[RUNS];
    size_t lines = 0, keys = 0;
    for (int i = 0; i < RUNS; i++) {
        double t = now();
        lines = floor_split(path);
        split[i] = now() - t;
        t = now();
        keys = parse(path, &frees[i]);
        load[i] = now() - t - frees[i];
    }
    unlink(path);
    rmdir(tmpdir);
    free(line_starts);
    if (!lines || !keys) {
        fprintf(stderr, "bench_regtext: the input did not read back\n");
        return 1;
    }
    double fs = median(split, RUNS), ls = median(load, RUNS), fr = median(frees, RUNS);
    fprintf(stderr,
            "bench_regtext: %s: %.1f MB UTF-16LE, %zu lines; median of %d: split %.1f ms, "
            "load %.1f ms (%.0f MB/s), free %.1f ms\n",
            input, (double)size / 1e6, lines, RUNS, fs * 1e3, ls * 1e3,
            (double)size / 1e6 / ls, fr * 1e3);
    printf("regtext-parse-vs-split-ratio: %.2f (goal: <= 4.0)\n", ls / fs);
    return 0;
}

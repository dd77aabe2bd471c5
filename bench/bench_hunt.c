/* smss-hunt's throughput against its floors, measured in the same run:
 *
 *   hunt-evtx-ratio: records per second of smss-hunt's EVTX reader feeding the process
 *     tree (rules judged), over a bare libevtx loop that reads every record's XML from the
 *     same files (the sample logs of SMSS_DATA). Goal: >= 0.8.
 *   hunt-jsonl-events-per-second: the JSON-lines reader feeding the tree, over the same
 *     events written as Winlogbeat lines (every EventData field, Winlogbeat's own
 *     metadata), repeated to about 200,000 lines. Goal: >= 200,000.
 *   hunt-jsonl-vs-split-ratio: that time over a bare line-splitting loop (read + memchr)
 *     over the same file. Goal: <= 10.
 *
 * Each figure is the best of a few rounds. Skips (exit 0) without the sample data. */
#include "buf.h"
#include "hunt_input.h"
#include "hunt_rules.h"
#include "hunt_tree.h"

#include <fcntl.h>
#include <jansson.h>
#include <libevtx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const files[] = {"win7-boot-rdp-sysmon.evtx", "Security-4688.evtx",
                                    "sysmon.evtx", "bad-chunk-magic.evtx"};
#define NFILES (sizeof files / sizeof *files)
#define ROUNDS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ the floors */

/* Every record's XML, nothing else. Returns records read. */
static long bare_evtx(const char *path)
{
    libevtx_file_t *f = NULL;
    long n = 0;
    if (libevtx_file_initialize(&f, NULL) != 1 ||
        libevtx_file_open(f, path, LIBEVTX_OPEN_READ, NULL) != 1) {
        libevtx_file_free(&f, NULL);
        return -1;
    }
    int count = 0;
    libevtx_file_get_number_of_records(f, &count, NULL);
    struct buf xml = BUF_INIT;
    for (int i = 0; i < count; i++) {
        libevtx_record_t *r = NULL;
        size_t size = 0;
        if (libevtx_file_get_record_by_index(f, i, &r, NULL) != 1)
            continue;
        if (libevtx_record_get_utf8_xml_string_size(r, &size, NULL) == 1 &&
            buf_reserve(&xml, size) == 0 &&
            libevtx_record_get_utf8_xml_string(r, (uint8_t *)xml.p, size, NULL) == 1)
            n++;
        libevtx_record_free(&r, NULL);
    }
    buf_free(&xml);
    libevtx_file_close(f, NULL);
    libevtx_file_free(&f, NULL);
    return n;
}

/* Lines of a file by read() and memchr(): the floor of any line reader. */
static long bare_split(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    static char block[1 << 16];
    long lines = 0;
    ssize_t n;
    size_t longest = 0, cur = 0;
    while ((n = read(fd, block, sizeof block)) > 0) {
        const char *p = block, *end = block + n;
        for (const char *nl; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
            cur += (size_t)(nl - p);
            if (cur > longest)
                longest = cur;
            cur = 0;
            lines++;
        }
        cur += (size_t)(end - p);
    }
    close(fd);
    return lines + (longest == (size_t)-1);
}

/* ------------------------------------------------------------------ smss-hunt */

static size_t findings;

static void discard(void *ctx, struct hunt_finding *f)
{
    (void)ctx;
    findings++;
    hunt_finding_free(f);
}

static int to_tree(void *ctx, const struct hunt_record *r) { return hunt_tree_add(ctx, r); }

typedef int (*reader_fn)(const char *, hunt_record_fn, void *, struct hunt_input_stats *,
                         struct diags *);

/* One pass of a reader over the given files into one tree. Returns records read. */
static long hunt_pass(const struct hunt_ruleset *rs, reader_fn reader, char **paths, size_t n)
{
    struct hunt_tree_options o = {.os = HUNT_OS_ALL};
    struct hunt_tree *t = hunt_tree_new(rs, &o, discard, NULL);
    struct hunt_input_stats st = {0};
    struct diags d = DIAGS_INIT;
    for (size_t i = 0; i < n; i++)
        reader(paths[i], to_tree, t, &st, &d);
    hunt_tree_finish(t);
    hunt_tree_free(t);
    diags_free(&d);
    return (long)st.records;
}

/* ------------------------------------------------------------------ the JSON lines file */

/* Every <Data Name="X">value</Data> of a record's XML into obj (entities kept simple:
 * the five XML ones). */
static void all_data(const char *xml, json_t *obj)
{
    static const char tag[] = "<Data Name=\"";
    for (const char *p = xml; (p = strstr(p, tag));) {
        p += sizeof tag - 1;
        const char *q = strchr(p, '"');
        if (!q)
            return;
        char name[128];
        size_t nl = (size_t)(q - p) < sizeof name - 1 ? (size_t)(q - p) : sizeof name - 1;
        memcpy(name, p, nl);
        name[nl] = '\0';
        const char *gt = strchr(q, '>');
        if (!gt)
            return;
        if (gt[-1] == '/') {
            json_object_set_new(obj, name, json_string(""));
            p = gt + 1;
            continue;
        }
        const char *lt = strchr(gt + 1, '<');
        if (!lt)
            return;
        struct buf v = BUF_INIT;
        for (const char *c = gt + 1; c < lt; c++) {
            static const struct {
                const char *e;
                char c;
            } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
                        {"&apos;", '\''}};
            size_t k = 0;
            for (; k < 5; k++)
                if (!strncmp(c, ents[k].e, strlen(ents[k].e)))
                    break;
            if (k < 5) {
                buf_putc(&v, ents[k].c);
                c += strlen(ents[k].e) - 1;
            } else {
                buf_putc(&v, *c);
            }
        }
        buf_puts(&v, "");
        json_object_set_new(obj, name, json_string(v.p));
        buf_free(&v);
        p = lt;
    }
}

static char *between(const char *s, const char *a, const char *b)
{
    const char *p = strstr(s, a);
    if (!p)
        return NULL;
    p += strlen(a);
    const char *q = strstr(p, b);
    return q ? strndup(p, (size_t)(q - p)) : NULL;
}

/* The sample logs' records as Winlogbeat lines, repeated until about target lines. */
static long write_jsonl(char **evtx, size_t n, const char *out, long target)
{
    struct buf lines = BUF_INIT;
    long per_pass = 0;
    for (size_t i = 0; i < n; i++) {
        libevtx_file_t *f = NULL;
        if (libevtx_file_initialize(&f, NULL) != 1 ||
            libevtx_file_open(f, evtx[i], LIBEVTX_OPEN_READ, NULL) != 1)
            return -1;
        int count = 0;
        libevtx_file_get_number_of_records(f, &count, NULL);
        for (int r = 0; r < count; r++) {
            libevtx_record_t *rec = NULL;
            size_t size = 0;
            if (libevtx_file_get_record_by_index(f, r, &rec, NULL) != 1)
                continue;
            char *xml = NULL;
            if (libevtx_record_get_utf8_xml_string_size(rec, &size, NULL) == 1 &&
                (xml = malloc(size)) &&
                libevtx_record_get_utf8_xml_string(rec, (uint8_t *)xml, size, NULL) == 1) {
                char *id = between(xml, "<EventID>", "<"), *prov = between(xml, "Provider Name=\"", "\""),
                     *ts = between(xml, "SystemTime=\"", "\""), *rid = between(xml, "<EventRecordID>", "<"),
                     *comp = between(xml, "<Computer>", "<"), *chan = between(xml, "<Channel>", "<");
                json_t *data = json_object();
                all_data(xml, data);
                json_t *line = json_pack(
                    "{s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s}, s:{s:s, s:s, s:s}, s:{s:i, s:s, s:s, s:s, "
                    "s:I, s:s, s:o, s:{s:i, s:i}, s:s}, s:s}",
                    "@timestamp", ts ? ts : "", "agent", "type", "winlogbeat", "version", "8.11.0",
                    "hostname", comp ? comp : "", "id", "2f6e2a3c-6f1b-4f0e-9d8e-4f5d3b1c2a10",
                    "ecs", "version", "8.0.0", "event", "kind", "event", "code", id ? id : "",
                    "provider", prov ? prov : "", "winlog", "event_id", id ? atoi(id) : 0,
                    "provider_name", prov ? prov : "", "channel", chan ? chan : "",
                    "computer_name", comp ? comp : "", "record_id",
                    (json_int_t)(rid ? atoll(rid) : 0), "api", "wineventlog", "event_data",
                    data, "process", "pid", 1168, "thread", 604, "task", "Process Create",
                    "message", "Process Create: an event rendered as text by the shipper, as "
                               "Winlogbeat keeps it in every line it writes.");
                char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
                if (text) {
                    buf_printf(&lines, "%s\n", text);
                    per_pass++;
                }
                free(text);
                json_decref(line);
                free(id), free(prov), free(ts), free(rid), free(comp), free(chan);
            }
            free(xml);
            libevtx_record_free(&rec, NULL);
        }
        libevtx_file_close(f, NULL);
        libevtx_file_free(&f, NULL);
    }
    FILE *o = fopen(out, "we");
    if (!o || per_pass == 0) {
        buf_free(&lines);
        if (o)
            fclose(o);
        return -1;
    }
    long total = 0;
    while (total < target) {
        fwrite(lines.p, 1, lines.len, o);
        total += per_pass;
    }
    fclose(o);
    buf_free(&lines);
    return total;
}

int main(void)
{
    const char *data = getenv("SMSS_DATA");
    char dir[4096];
    if (data)
        snprintf(dir, sizeof dir, "%s", data);
    else
        snprintf(dir, sizeof dir, "%s/../shared/data", getenv("SMSS_TOP") ? getenv("SMSS_TOP") : ".");
    char *paths[NFILES];
    for (size_t i = 0; i < NFILES; i++) {
        paths[i] = malloc(strlen(dir) + strlen(files[i]) + 2);
        sprintf(paths[i], "%s/%s", dir, files[i]);
        if (access(paths[i], R_OK) != 0) {
            printf("bench_hunt: skipped: %s absent (set SMSS_DATA)\n", paths[i]);
            return 0;
        }
    }
    struct hunt_ruleset rs;
    struct diags d = DIAGS_INIT;
    hunt_ruleset_init(&rs);
    if (hunt_ruleset_load_default(&rs, &d) < 0)
        return 1;

    /* EVTX: the same files, both ways; records per second, best of ROUNDS x 10 passes. */
    double best_bare = 1e30, best_hunt = 1e30;
    long recs_bare = 0, recs_hunt = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        long nb = 0;
        for (int k = 0; k < 10; k++)
            for (size_t i = 0; i < NFILES; i++)
                nb += bare_evtx(paths[i]);
        double t1 = now();
        long nh = 0;
        for (int k = 0; k < 10; k++)
            nh += hunt_pass(&rs, hunt_input_evtx, paths, NFILES);
        double t2 = now();
        if (t1 - t0 < best_bare)
            best_bare = t1 - t0, recs_bare = nb;
        if (t2 - t1 < best_hunt)
            best_hunt = t2 - t1, recs_hunt = nh;
    }
    double bare_rps = (double)recs_bare / best_bare, hunt_rps = (double)recs_hunt / best_hunt;
    printf("hunt-evtx-ratio: %.2f (goal: >= 0.8)\n", hunt_rps / bare_rps);

    /* JSON lines. */
    char jsonl[] = "/tmp/bench-hunt-XXXXXX";
    int fd = mkstemp(jsonl);
    if (fd < 0)
        return 1;
    close(fd);
    long lines = write_jsonl(paths, NFILES, jsonl, 200000);
    if (lines < 0) {
        fprintf(stderr, "bench_hunt: cannot write %s\n", jsonl);
        unlink(jsonl);
        return 1;
    }
    double best_split = 1e30, best_json = 1e30;
    long events = 0;
    char *one[] = {jsonl};
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        long ns = bare_split(jsonl);
        double t1 = now();
        long nj = hunt_pass(&rs, hunt_input_jsonl, one, 1);
        double t2 = now();
        (void)ns;
        if (t1 - t0 < best_split)
            best_split = t1 - t0;
        if (t2 - t1 < best_json)
            best_json = t2 - t1, events = nj;
    }
    printf("hunt-jsonl-events-per-second: %.0f (goal: >= 200000)\n", (double)events / best_json);
    printf("hunt-jsonl-vs-split-ratio: %.1f (goal: <= 10)\n", best_json / best_split);
    if (!getenv("BENCH_HUNT_KEEP"))
        unlink(jsonl);
    else
        fprintf(stderr, "kept %s\n", jsonl);
    for (size_t i = 0; i < NFILES; i++)
        free(paths[i]);
    hunt_ruleset_free(&rs);
    diags_free(&d);
    return 0;
}

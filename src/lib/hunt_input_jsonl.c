/* JSON lines of Windows process events, one event per line, in the shapes the common
 * shippers write: Winlogbeat (winlog.event_id, winlog.event_data.*), NXLog and the public
 * security datasets (flat: EventID, SourceName, the data fields at the top level), and
 * EVTX-to-JSON dumps (Event.System.*, Event.EventData.*). Fields are read by name. */
#include "hunt_event.h"
#include "hunt_input.h"
#include "hunt_json_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_MAX 5

/* obj.a.b... for a NULL-terminated path of keys. */
static json_t *path_get(json_t *obj, const char *const *keys)
{
    for (; *keys && obj; keys++)
        obj = json_is_object(obj) ? json_object_get(obj, *keys) : NULL;
    return obj;
}

/* A JSON value as text: strings as they are, numbers printed into out. */
static const char *as_text(json_t *v, char *out, size_t size)
{
    if (json_is_object(v)) { /* {"#text": ...} or {"Value": ...} wrappers */
        json_t *t = json_object_get(v, "#text");
        v = t ? t : json_object_get(v, "Value");
    }
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
        return out;
    }
    if (json_is_real(v)) {
        snprintf(out, size, "%.0f", json_real_value(v));
        return out;
    }
    return NULL;
}

static const char *first_text(json_t *root, const char *const *const *paths, char *out,
                              size_t size)
{
    for (; *paths; paths++) {
        const char *t = as_text(path_get(root, *paths), out, size);
        if (t)
            return t;
    }
    return NULL;
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const *const id_paths[] = {
    P("winlog", "event_id"), P("EventID"), P("event_id"), P("Event", "System", "EventID"),
    P("event", "code"), NULL};
static const char *const *const provider_paths[] = {
    P("winlog", "provider_name"), P("SourceName"), P("ProviderName"), P("Provider_Name"),
    P("Event", "System", "Provider", "#attributes", "Name"), P("Event", "System", "Provider_Name"),
    NULL};
static const char *const *const time_paths[] = {
    P("Event", "System", "TimeCreated", "#attributes", "SystemTime"), P("TimeCreated"),
    P("@timestamp"), P("EventTime"), P("timestamp"), NULL};
static const char *const *const recno_paths[] = {
    P("winlog", "record_id"), P("RecordNumber"), P("EventRecordID"),
    P("Event", "System", "EventRecordID"), P("record_id"), NULL};
static const char *const *const data_paths[] = {
    P("winlog", "event_data"), P("Event", "EventData"), P("event_data"), P("EventData"), NULL};

struct jsonl_reader {
    const char *path;
    hunt_record_fn fn;
    void *ctx;
    struct hunt_input_stats *st;
    struct diags *d;
    unsigned reported;
    uint64_t line;
    struct hunt_json_keys keys;
};

static void bad_line(struct jsonl_reader *jr, const char *msg)
{
    jr->st->bad++;
    if (jr->reported++ < REPORT_MAX)
        diag_at(jr->d, DIAG_WARNING, jr->path, (unsigned)jr->line, 0,
                "%s (line skipped; the rest is read)", msg);
}

/* Fill the event's fields from the data object (and the top level, for flat shapes). */
static void fields(json_t *root, struct hunt_event *e, char nums[HF_COUNT][24])
{
    json_t *data = NULL;
    for (const char *const *const *p = data_paths; *p && !data; p++) {
        data = path_get(root, *p);
        if (!json_is_object(data))
            data = NULL;
    }
    const char *key;
    json_t *v;
    for (int pass = 0; pass < 2; pass++) {
        json_t *obj = pass == 0 ? data : root;
        if (!obj)
            continue;
        json_object_foreach(obj, key, v) {
            int f = hunt_field_lookup(key, strlen(key));
            if (f >= 0 && !e->v[f])
                e->v[f] = as_text(v, nums[f], sizeof nums[f]);
        }
    }
}

/* ------------------------------------------------------------------ the fast path */

/* The member names the walk reports: the event fields (their hunt_field index first),
 * then the header's names in the shapes above. Every other member costs no call. */
enum key {
    K_TEXT = HF_COUNT, K_VALUE, K_EVENT_ID, K_EVENTID, K_CODE, K_PROVIDER_NAME,
    K_SOURCENAME, K_PROVIDERNAME, K_PROVIDER__NAME, K_NAME, K_SYSTEMTIME, K_TIMECREATED,
    K_AT_TIMESTAMP, K_EVENTTIME, K_TIMESTAMP, K_RECORD_ID, K_RECORDNUMBER, K_EVENTRECORDID,
    K_COUNT
};
static const char *const header_keys[K_COUNT - HF_COUNT] = {
    "#text", "Value", "event_id", "EventID", "code", "provider_name", "SourceName",
    "ProviderName", "Provider_Name", "Name", "SystemTime", "TimeCreated", "@timestamp",
    "EventTime", "timestamp", "record_id", "RecordNumber", "EventRecordID"};

/* The names are distinct and short, and as many as the set holds (checked when this
 * compiles): building the set cannot fail. */
_Static_assert(K_COUNT <= HUNT_JSON_KEYS_MAX, "every member name fits the walk's key set");

static void keys_init(struct hunt_json_keys *ks)
{
    const char *names[K_COUNT + 1];
    for (int i = 0; i < K_COUNT; i++)
        names[i] = i < HF_COUNT ? hunt_field_name((enum hunt_field)i) : header_keys[i - HF_COUNT];
    names[K_COUNT] = NULL;
    hunt_json_keys_init(ks, names);
}

enum target { T_ID = HF_COUNT, T_PROVIDER, T_TIME, T_RECNO, T_COUNT };

/* The member chosen for each target so far; decoded only once the event is known to be
 * one we read (most lines are not, and their values need no copy). */
struct fast {
    const struct hunt_json_keys *keys;
    struct hunt_json_member best[T_COUNT];
    int rank[T_COUNT];
};

#define NO_RANK (1 << 20)
#define span_is(s, lit) ((s).n == sizeof(lit) - 1 && memcmp((s).p, lit, sizeof(lit) - 1) == 0)

/* Which target a member feeds, and with what rank (lower wins; the same preferences as
 * the paths of the full parse below). -1 when none. */
static int classify(const struct hunt_json_keys *ks, const struct hunt_json_member *m,
                    int *rank)
{
    static const struct hunt_json_span none = {"", 0};
    int k = m->key_index;
    unsigned d = m->depth;
    if (k == K_TEXT || k == K_VALUE) { /* {"#text": value} wrappers: the outer key */
        if (d == 0)
            return -1;
        d--;
        k = hunt_json_keys_find(ks, m->path[d].p, m->path[d].n);
    }
    struct hunt_json_span parent = d ? m->path[d - 1] : none, grand = d > 1 ? m->path[d - 2] : none;
    if (k >= 0 && k < HF_COUNT) {
        if (span_is(parent, "event_data") || span_is(parent, "EventData"))
            return *rank = 0, k;
        return d == 0 ? (*rank = 1, k) : -1;
    }
    bool winlog = span_is(parent, "winlog");
    switch (k) {
    case K_EVENT_ID: return *rank = winlog ? 0 : 2, T_ID;
    case K_EVENTID: return *rank = d == 0 ? 1 : 3, T_ID;
    case K_CODE: return span_is(parent, "event") ? (*rank = 4, T_ID) : -1;
    case K_PROVIDER_NAME: return winlog ? (*rank = 0, T_PROVIDER) : -1;
    case K_SOURCENAME: case K_PROVIDERNAME: case K_PROVIDER__NAME:
        return *rank = 1, T_PROVIDER;
    case K_NAME:
        return span_is(parent, "#attributes") && span_is(grand, "Provider")
                   ? (*rank = 4, T_PROVIDER) : -1;
    case K_SYSTEMTIME: return span_is(parent, "#attributes") ? (*rank = 0, T_TIME) : -1;
    case K_TIMECREATED: return *rank = 1, T_TIME;
    case K_AT_TIMESTAMP: return d == 0 ? (*rank = 2, T_TIME) : -1;
    case K_EVENTTIME: case K_TIMESTAMP: return d == 0 ? (*rank = 3, T_TIME) : -1;
    case K_RECORD_ID: return *rank = winlog ? 0 : 4, T_RECNO;
    case K_RECORDNUMBER: case K_EVENTRECORDID: return *rank = 1, T_RECNO;
    default: return -1;
    }
}

static void fast_member(void *ctx, const struct hunt_json_member *m)
{
    struct fast *fs = ctx;
    int rank;
    int t = classify(fs->keys, m, &rank);
    if (t < 0 || rank >= fs->rank[t] || (!m->is_string && span_is(m->value, "null")))
        return;
    fs->best[t] = *m;
    fs->rank[t] = rank;
}

/* The values of targets [from, to) decoded in place (the line is the reader's own copy,
 * and its walk is over), NULL for none. */
static void decode_targets(const struct fast *fs, int from, int to, const char *val[T_COUNT])
{
    for (int t = from; t < to; t++)
        val[t] = fs->rank[t] != NO_RANK ? hunt_json_decode_in_place(&fs->best[t]) : NULL;
}

/* The event's header and fields from the decoded values. */
static void fill_event(struct hunt_event *e, const char *const val[T_COUNT])
{
    e->provider = val[T_PROVIDER];
    e->time = hunt_time_parse(val[T_TIME]);
    e->recno = val[T_RECNO] ? strtoull(val[T_RECNO], NULL, 10) : 0;
    for (int f = 0; f < HF_COUNT; f++)
        e->v[f] = val[f];
}

/* 1 handled (or not a process event), 0 when the walk could not follow the text (which
 * it then left as it was). */
static int fast_line(struct jsonl_reader *jr, char *s, size_t n, int *rc)
{
    struct fast fs = {.keys = &jr->keys};
    for (int i = 0; i < T_COUNT; i++)
        fs.rank[i] = NO_RANK;
    if (hunt_json_scan_keys(s, n, &jr->keys, fast_member, &fs) < 0)
        return 0;
    const char *val[T_COUNT];
    decode_targets(&fs, T_ID, T_PROVIDER + 1, val);
    *rc = 0;
    int64_t id = hunt_parse_pid(val[T_ID]);
    if (id < 0 || !hunt_event_wanted((unsigned)id, val[T_PROVIDER]))
        return 1;
    decode_targets(&fs, 0, HF_COUNT, val);
    decode_targets(&fs, T_TIME, T_COUNT, val);
    struct hunt_event e = {.id = (unsigned)id, .has_id = true};
    fill_event(&e, val);
    struct hunt_record r;
    char scratch[512];
    if (hunt_event_record(&e, &r, scratch, sizeof scratch)) {
        r.source = jr->path;
        if (!r.recno)
            r.recno = jr->line;
        jr->st->used++;
        *rc = jr->fn(jr->ctx, &r);
    }
    return 1;
}

/* ------------------------------------------------------------------ the full parse */

/* Lines the walk cannot follow: jansson parses them whole (and says what is wrong). */
static int handle_line(struct jsonl_reader *jr, char *s, size_t n)
{
    int fast_rc;
    if (fast_line(jr, s, n, &fast_rc))
        return fast_rc;
    json_error_t err;
    json_t *root = json_loadb(s, n, 0, &err);
    if (!root || !json_is_object(root)) {
        char msg[256];
        snprintf(msg, sizeof msg, "not a JSON object: %s (column %d)",
                 root ? "another JSON value" : err.text, root ? 1 : err.column);
        json_decref(root);
        bad_line(jr, msg);
        return 0;
    }
    char idbuf[24], recbuf[24], nums[HF_COUNT][24];
    struct hunt_event e = {.time = HUNT_TIME_UNKNOWN};
    const char *id = first_text(root, id_paths, idbuf, sizeof idbuf);
    int rc = 0;
    if (id && hunt_parse_pid(id) >= 0) {
        e.id = (unsigned)hunt_parse_pid(id);
        e.has_id = true;
        e.provider = first_text(root, provider_paths, NULL, 0);
    }
    if (e.has_id && hunt_event_wanted(e.id, e.provider)) {
        e.time = hunt_time_parse(first_text(root, time_paths, NULL, 0));
        const char *rn = first_text(root, recno_paths, recbuf, sizeof recbuf);
        e.recno = rn ? strtoull(rn, NULL, 10) : 0;
        fields(root, &e, nums);
        struct hunt_record r;
        char scratch[512];
        if (hunt_event_record(&e, &r, scratch, sizeof scratch)) {
            r.source = jr->path;
            if (!r.recno)
                r.recno = jr->line;
            jr->st->used++;
            rc = jr->fn(jr->ctx, &r);
        }
    }
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ lines */

#define BLOCK (1 << 18) /* bytes per read(): large enough to make calls rare, small
                         * enough that a block is still in cache while its lines are read */

/* Lines from a file descriptor, read in large blocks and split in place: no copy of a
 * line, and a line longer than a block grows the buffer. */
struct lines {
    int fd;
    char *buf;
    size_t cap, start, len; /* unread bytes: buf[start..len) */
    bool eof;
};

/* Room after the unread bytes for one more block: they move to the front, and the buffer
 * grows when they fill most of it (a line longer than a block). */
static int make_room(struct lines *l)
{
    memmove(l->buf, l->buf + l->start, l->len - l->start);
    l->len -= l->start;
    l->start = 0;
    if (l->cap - l->len >= BLOCK / 2)
        return 0;
    char *b = realloc(l->buf, l->cap * 2);
    if (!b)
        return -1;
    l->buf = b;
    l->cap *= 2;
    return 0;
}

static int fill_block(struct lines *l)
{
    if (make_room(l) < 0)
        return -1;
    ssize_t n;
    do
        n = read(l->fd, l->buf + l->len, l->cap - l->len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    l->eof = n == 0;
    l->len += (size_t)n;
    return 0;
}

/* The next line without its '\n' in *s, *n (the reader's to change): 1, 0 at the end,
 * -1 on a read error. */
static int next_line(struct lines *l, char **s, size_t *n)
{
    for (;;) {
        char *p = l->buf + l->start, *nl = memchr(p, '\n', l->len - l->start);
        if (nl || (l->eof && l->start < l->len)) {
            *s = p;
            *n = nl ? (size_t)(nl - p) : l->len - l->start;
            l->start += *n + (nl != NULL);
            return 1;
        }
        if (l->eof)
            return 0;
        if (fill_block(l) < 0)
            return -1;
    }
}

int hunt_input_jsonl(const char *path, hunt_record_fn fn, void *ctx,
                     struct hunt_input_stats *st, struct diags *d)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct lines l = {.fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC),
                      .cap = 2 * BLOCK};
    if (l.fd < 0) {
        diag_add(d, DIAG_ERROR, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct jsonl_reader jr = {.path = path, .fn = fn, .ctx = ctx, .st = st, .d = d};
    keys_init(&jr.keys);
    int rc = (l.buf = malloc(l.cap)) ? 0 : -1;
    if (rc < 0)
        diag_add(d, DIAG_ERROR, path, "cannot read: %s", strerror(ENOMEM));
    char *s;
    size_t n;
    int got = 0;
    while (rc == 0 && (got = next_line(&l, &s, &n)) > 0) {
        jr.line++;
        while (n && s[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        st->records++;
        rc = handle_line(&jr, s, n);
    }
    if (rc == 0 && got < 0) {
        diag_add(d, DIAG_ERROR, path, "read error after line %llu: %s",
                 (unsigned long long)jr.line, strerror(errno));
        rc = -1;
    }
    if (jr.reported > REPORT_MAX)
        diag_add(d, DIAG_WARNING, path, "%u unreadable lines in all (the first %d listed)",
                 jr.reported, REPORT_MAX);
    free(l.buf);
    if (!is_stdin)
        close(l.fd);
    return rc;
}

/* EVTX files through libevtx: each record's event ID first (cheap), then the XML of the
 * process events only, read by field name. Unreadable records are counted and reported;
 * chunks with a damaged signature (which libevtx skips silently) are found by reading
 * the file header and reported too. */
#include "hunt_event.h"
#include "hunt_input.h"
#include "hunt_xml.h"

#include <errno.h>
#include <fcntl.h>
#include <libevtx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVTX_HEADER 4096
#define EVTX_CHUNK 65536
#define REPORT_MAX 5 /* individual warnings per file before a summary */

static void evtx_error(libevtx_error_t **e, char *out, size_t size)
{
    out[0] = '\0';
    if (*e) {
        libevtx_error_sprint(*e, out, size);
        libevtx_error_free(e);
    }
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
}

/* Chunks inside the header's chunk count whose signature is not "ElfChnk" but that hold
 * data: libevtx skips them; say so. Returns how many. */
static unsigned damaged_chunks(const char *path, struct diags *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char h[128];
    unsigned bad = 0;
    if (pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h && !memcmp(h, "ElfFile", 8)) {
        unsigned count = h[42] | (unsigned)h[43] << 8;
        unsigned char *c = malloc(EVTX_CHUNK);
        for (unsigned i = 0; c && i < count; i++) {
            off_t at = EVTX_HEADER + (off_t)i * EVTX_CHUNK;
            ssize_t n = pread(fd, c, EVTX_CHUNK, at);
            if (n < 8 || !memcmp(c, "ElfChnk", 8))
                continue;
            size_t k = 0;
            while (k < (size_t)n && c[k] == 0)
                k++;
            if (k == (size_t)n)
                continue; /* an unused, zeroed chunk */
            char where[64];
            snprintf(where, sizeof where, "chunk %u (offset %lld)", i, (long long)at);
            diag_add(d, DIAG_WARNING, path,
                     "%s has a damaged signature; its records cannot be read and were "
                     "skipped, the other chunks were read", where);
            bad++;
        }
        free(c);
    }
    close(fd);
    return bad;
}

struct evtx_reader {
    const char *path;
    hunt_record_fn fn;
    void *ctx;
    struct hunt_input_stats *st;
    struct diags *d;
    struct buf xml, scratch;
    unsigned reported;
};

static void bad_record(struct evtx_reader *er, int index, const char *what, const char *msg)
{
    er->st->bad++;
    if (er->reported++ < REPORT_MAX)
        diag_add(er->d, DIAG_WARNING, er->path,
                 "record at index %d: %s: %s (skipped; the rest is read)", index, what, msg);
}

/* One record: 1 handed over, 0 skipped, -1 the callback stopped. */
static int read_record(struct evtx_reader *er, libevtx_file_t *f, int index)
{
    libevtx_error_t *e = NULL;
    libevtx_record_t *rec = NULL;
    char msg[256];
    if (libevtx_file_get_record_by_index(f, index, &rec, &e) != 1) {
        evtx_error(&e, msg, sizeof msg);
        bad_record(er, index, "unreadable record", msg);
        return 0;
    }
    uint32_t id = 0;
    int rc = 0;
    size_t size = 0;
    if (libevtx_record_get_event_identifier(rec, &id, &e) != 1) {
        evtx_error(&e, msg, sizeof msg);
        bad_record(er, index, "no event identifier", msg);
    } else if (!hunt_event_wanted(id & 0xFFFF, NULL)) {
        rc = 0;
    } else if (libevtx_record_get_utf8_xml_string_size(rec, &size, &e) != 1 || size == 0 ||
               buf_reserve(&er->xml, size) < 0 ||
               libevtx_record_get_utf8_xml_string(rec, (uint8_t *)er->xml.p, size, &e) != 1) {
        evtx_error(&e, msg, sizeof msg);
        bad_record(er, index, "its XML cannot be rendered", msg[0] ? msg : "empty");
    } else {
        struct hunt_event ev;
        struct hunt_record r;
        char scratch[512];
        size_t len = strnlen(er->xml.p, size);
        if (!hunt_xml_event(er->xml.p, len, &ev, &er->scratch)) {
            bad_record(er, index, "its XML has no EventID", "not an event");
        } else if (hunt_event_record(&ev, &r, scratch, sizeof scratch)) {
            r.source = er->path;
            er->st->used++;
            rc = er->fn(er->ctx, &r) < 0 ? -1 : 1;
        }
    }
    libevtx_record_free(&rec, NULL);
    return rc;
}

int hunt_input_evtx(const char *path, hunt_record_fn fn, void *ctx,
                    struct hunt_input_stats *st, struct diags *d)
{
    libevtx_file_t *f = NULL;
    libevtx_error_t *e = NULL;
    char msg[256];
    if (libevtx_file_initialize(&f, &e) != 1 ||
        libevtx_file_open(f, path, LIBEVTX_OPEN_READ, &e) != 1) {
        evtx_error(&e, msg, sizeof msg);
        diag_add(d, DIAG_ERROR, path, "cannot open as an EVTX file: %s (is it an event log? "
                 "name the format with --input-format)", msg[0] ? msg : strerror(errno));
        libevtx_file_free(&f, NULL);
        return -1;
    }
    damaged_chunks(path, d);
    int n = 0;
    if (libevtx_file_get_number_of_records(f, &n, &e) != 1) {
        evtx_error(&e, msg, sizeof msg);
        diag_add(d, DIAG_ERROR, path, "cannot count the records: %s", msg);
        libevtx_file_close(f, NULL);
        libevtx_file_free(&f, NULL);
        return -1;
    }
    struct evtx_reader er = {.path = path, .fn = fn, .ctx = ctx, .st = st, .d = d,
                             .xml = BUF_INIT, .scratch = BUF_INIT};
    int rc = 0;
    for (int i = 0; i < n && rc >= 0; i++) {
        st->records++;
        rc = read_record(&er, f, i);
    }
    if (er.reported > REPORT_MAX)
        diag_add(d, DIAG_WARNING, path, "%u unreadable records in all (the first %d listed)",
                 er.reported, REPORT_MAX);
    buf_free(&er.xml);
    buf_free(&er.scratch);
    libevtx_file_close(f, NULL);
    libevtx_file_free(&f, NULL);
    return rc < 0 ? -1 : 0;
}

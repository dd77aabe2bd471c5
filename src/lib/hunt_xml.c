#include "hunt_xml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Decode XML text (entities, character references) and append it, NUL-terminated. */
static size_t append_text(struct buf *b, const char *s, size_t n)
{
    size_t at = b->len;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            buf_putc(b, s[i]);
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
        if (!semi) {
            buf_putc(b, '&');
            continue;
        }
        size_t k = (size_t)(semi - (s + i));
        static const struct {
            const char *name;
            char c;
        } ents[] = {{"&amp", '&'}, {"&lt", '<'}, {"&gt", '>'}, {"&quot", '"'}, {"&apos", '\''}};
        bool done = false;
        for (size_t e = 0; e < 5 && !done; e++)
            if (strlen(ents[e].name) == k && !memcmp(s + i, ents[e].name, k)) {
                buf_putc(b, ents[e].c);
                done = true;
            }
        if (!done && k > 2 && s[i + 1] == '#') {
            unsigned long cp = s[i + 2] == 'x' || s[i + 2] == 'X' ? strtoul(s + i + 3, NULL, 16)
                                                                  : strtoul(s + i + 2, NULL, 10);
            char u[4];
            size_t un = 0;
            if (cp && cp < 0x80) {
                u[un++] = (char)cp;
            } else if (cp && cp < 0x800) {
                u[un++] = (char)(0xC0 | (cp >> 6));
                u[un++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp && cp < 0x10000 && (cp < 0xD800 || cp > 0xDFFF)) {
                u[un++] = (char)(0xE0 | (cp >> 12));
                u[un++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[un++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp >= 0x10000 && cp < 0x110000) {
                u[un++] = (char)(0xF0 | (cp >> 18));
                u[un++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                u[un++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[un++] = (char)(0x80 | (cp & 0x3F));
            }
            if (un) {
                buf_append(b, u, un);
                done = true;
            }
        }
        if (!done) {
            buf_append(b, s + i, k + 1);
        }
        i += k;
    }
    buf_putc(b, '\0');
    return at;
}

/* The text between '>' after tag and the next '<', for the first "<tag" in [s, end). */
static const char *element_text(const char *s, const char *end, const char *tag, size_t *n)
{
    size_t tl = strlen(tag);
    for (const char *p = s; (p = memmem(p, (size_t)(end - p), tag, tl)); p += tl) {
        const char *after = p + tl;
        if (after < end && (*after == '>' || *after == ' ' || *after == '/')) {
            const char *gt = memchr(after, '>', (size_t)(end - after));
            if (!gt || gt[-1] == '/')
                return NULL;
            const char *lt = memchr(gt + 1, '<', (size_t)(end - gt - 1));
            if (!lt)
                return NULL;
            *n = (size_t)(lt - gt - 1);
            return gt + 1;
        }
    }
    return NULL;
}

/* The value of attr="..." inside the first "<tag" element. */
static const char *attribute(const char *s, const char *end, const char *tag, const char *attr,
                             size_t *n)
{
    const char *p = memmem(s, (size_t)(end - s), tag, strlen(tag));
    if (!p)
        return NULL;
    const char *gt = memchr(p, '>', (size_t)(end - p));
    if (!gt)
        return NULL;
    const char *a = memmem(p, (size_t)(gt - p), attr, strlen(attr));
    if (!a)
        return NULL;
    a += strlen(attr);
    if (a >= gt || (*a != '"' && *a != '\''))
        return NULL;
    const char *q = memchr(a + 1, *a, (size_t)(gt - a - 1));
    if (!q)
        return NULL;
    *n = (size_t)(q - a - 1);
    return a + 1;
}

/* Every <Data Name="X">value</Data> (or <Data Name="X"/>) whose X we want. */
static void data_fields(const char *s, const char *end, size_t off[HF_COUNT], struct buf *b)
{
    static const char tag[] = "<Data Name=";
    for (const char *p = s; (p = memmem(p, (size_t)(end - p), tag, sizeof tag - 1));) {
        p += sizeof tag - 1;
        if (p >= end || (*p != '"' && *p != '\''))
            continue;
        const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (!q)
            return;
        int f = hunt_field_lookup(p + 1, (size_t)(q - p - 1));
        const char *gt = memchr(q, '>', (size_t)(end - q));
        if (!gt)
            return;
        p = gt + 1;
        if (f < 0)
            continue;
        if (gt[-1] == '/') {
            off[f] = append_text(b, "", 0);
            continue;
        }
        const char *lt = memchr(gt + 1, '<', (size_t)(end - gt - 1));
        if (!lt)
            return;
        off[f] = append_text(b, gt + 1, (size_t)(lt - gt - 1));
        p = lt;
    }
}

bool hunt_xml_event(const char *xml, size_t len, struct hunt_event *e, struct buf *scratch)
{
    const char *end = xml + len;
    memset(e, 0, sizeof *e);
    e->time = HUNT_TIME_UNKNOWN;
    scratch->len = 0;
    size_t n;
    const char *t = element_text(xml, end, "<EventID", &n);
    if (!t)
        return false;
    char num[24];
    if (n == 0 || n >= sizeof num)
        return false;
    memcpy(num, t, n);
    num[n] = '\0';
    char *stop;
    unsigned long id = strtoul(num, &stop, 10);
    if (*stop)
        return false;
    e->id = (unsigned)id;
    e->has_id = true;
    size_t off[HF_COUNT], prov_off = (size_t)-1;
    for (int i = 0; i < HF_COUNT; i++)
        off[i] = (size_t)-1;
    const char *prov = attribute(xml, end, "<Provider", "Name=", &n);
    if (prov)
        prov_off = append_text(scratch, prov, n);
    if (!hunt_event_wanted(e->id, prov ? scratch->p + prov_off : NULL))
        return true; /* a valid event we do not read: no more work */
    const char *tc = attribute(xml, end, "<TimeCreated", "SystemTime=", &n);
    if (tc && n < sizeof num + 16) {
        char ts[48];
        memcpy(ts, tc, n < sizeof ts - 1 ? n : sizeof ts - 1);
        ts[n < sizeof ts - 1 ? n : sizeof ts - 1] = '\0';
        e->time = hunt_time_parse(ts);
    }
    const char *rid = element_text(xml, end, "<EventRecordID", &n);
    if (rid && n < sizeof num) {
        memcpy(num, rid, n);
        num[n] = '\0';
        e->recno = strtoull(num, NULL, 10);
    }
    data_fields(xml, end, off, scratch);
    if (buf_puts(scratch, "") < 0)
        return false;
    if (prov_off != (size_t)-1)
        e->provider = scratch->p + prov_off;
    for (int i = 0; i < HF_COUNT; i++)
        if (off[i] != (size_t)-1)
            e->v[i] = scratch->p + off[i];
    return true;
}

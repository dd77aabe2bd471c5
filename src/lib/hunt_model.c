#include "hunt_model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const severity_names[] = {"low", "medium", "high", "critical"};

const char *hunt_severity_name(enum hunt_severity s)
{
    return (unsigned)s < 4 ? severity_names[s] : "unknown";
}

int hunt_severity_parse(const char *word)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(word, severity_names[i]) == 0)
            return i;
    /* Sigma's "informational" is the lowest level we have. */
    if (strcasecmp(word, "informational") == 0)
        return HUNT_SEV_LOW;
    return -1;
}

void hunt_proc_free(struct hunt_proc *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->image);
    free(p->cmdline);
    free(p->user);
    free(p->image_norm);
    free(p->evidence);
    free(p);
}

void hunt_finding_free(struct hunt_finding *f)
{
    if (!f)
        return;
    free(f->message);
    free(f->evidence);
    free(f->proc_name);
    free(f->proc_image);
    free(f->proc_cmdline);
    free(f->proc_user);
    free(f->registry_path);
    free(f->registry_value);
    free(f->registry_data);
    free(f);
}

char *hunt_strdup(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil), as timegm counts them, without its time-zone machinery: a time is
 * parsed for every event read. A day past the month's end runs into the next month, as
 * timegm's normalisation has it. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t hunt_time_parse(const char *s)
{
    if (!s)
        return HUNT_TIME_UNKNOWN;
    while (*s == ' ' || *s == '"')
        s++;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1601 || s[4] != '-' || s[7] != '-' || mo < 1 || mo > 12 || d < 1 || d > 31)
        return HUNT_TIME_UNKNOWN;
    if (s[10] != 'T' && s[10] != ' ')
        return HUNT_TIME_UNKNOWN;
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 || s[13] != ':' ||
        s[16] != ':')
        return HUNT_TIME_UNKNOWN;
    const char *p = s + 19;
    int64_t us = 0;
    if (*p == '.' || *p == ',') {
        int64_t scale = 100000;
        for (p++; isdigit((unsigned char)*p); p++) {
            us += (*p - '0') * scale;
            scale /= 10;
        }
    }
    /* A numeric zone offset (+hh:mm) is applied; Z, UTC or nothing mean UTC. */
    int64_t offset = 0;
    if ((*p == '+' || *p == '-') && digits(p + 1, 2) >= 0) {
        int oh = digits(p + 1, 2), om = p[3] == ':' ? digits(p + 4, 2) : digits(p + 3, 2);
        offset = ((int64_t)oh * 3600 + (om > 0 ? om : 0) * 60) * (*p == '-' ? -1 : 1);
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return (t - offset) * HUNT_SECOND + us;
}

const char *hunt_time_format(int64_t t, char *out, size_t size)
{
    if (t == HUNT_TIME_UNKNOWN) {
        snprintf(out, size, "-");
        return out;
    }
    time_t secs = (time_t)(t >= 0 ? t / HUNT_SECOND : (t - HUNT_SECOND + 1) / HUNT_SECOND);
    long us = (long)(t - (int64_t)secs * HUNT_SECOND);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%06ldZ", day, us);
    return out;
}

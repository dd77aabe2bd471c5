#include "kmode.h"
#include "log.h"

#include "json_util.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4 /* linux/module.h, Linux 5.17 */
#endif

bool kmode_is_windows_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '\\') || (n >= 2 && isalpha((unsigned char)s[0]) && s[1] == ':') ||
           (n >= 4 && strcasecmp(s + n - 4, ".sys") == 0);
}

/* "kernel/net/dummy.ko.xz" → "dummy"; '-' read as '_', as the kernel names modules. */
static void module_name(const char *path, size_t len, char *out, size_t size)
{
    const char *slash = memrchr(path, '/', len);
    const char *b = slash ? slash + 1 : path;
    size_t n = (size_t)(path + len - b);
    const char *ko = memmem(b, n, ".ko", 3);
    if (ko)
        n = (size_t)(ko - b);
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = b[i] == '-' ? '_' : b[i];
    out[n] = '\0';
}

static char *dep_path(const char *modules_dir, const char *p, size_t n)
{
    char *s;
    if (p[0] == '/')
        return strndup(p, n);
    return asprintf(&s, "%s/%.*s", modules_dir, (int)n, p) < 0 ? NULL : s;
}

/* The dependencies of one modules.dep line, last first (the order they load in). */
static int line_deps(const char *modules_dir, const char *p, const char *end, struct strlist *deps)
{
    struct strlist words = STRLIST_INIT;
    while (p < end) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t\n");
        if (p + n > end)
            n = (size_t)(end - p);
        if (n && strlist_push_owned(&words, dep_path(modules_dir, p, n)) < 0) {
            strlist_free(&words);
            return -1;
        }
        p += n ? n : 1;
    }
    for (size_t i = words.n; i-- > 0;) {
        if (strlist_push_owned(deps, words.v[i]) < 0) {
            words.v[i] = NULL;
            strlist_free(&words);
            return -1;
        }
        words.v[i] = NULL;
    }
    strlist_free(&words);
    return 0;
}

char *kmode_resolve(const char *name, const char *modules_dir, struct strlist *deps, char **why)
{
    *why = NULL;
    if (strchr(name, '/'))
        return strdup(name);
    char want[256], have[256], *dep;
    module_name(name, strlen(name), want, sizeof want);
    if (asprintf(&dep, "%s/modules.dep", modules_dir) < 0)
        return NULL;
    struct buf text = BUF_INIT;
    if (read_file(dep, &text) < 0 || !text.p) {
        if (asprintf(why, "cannot read %s: %s (no modules installed for this kernel)", dep,
                     strerror(errno)) < 0)
            *why = NULL;
        free(dep);
        buf_free(&text);
        return NULL;
    }
    char *found = NULL;
    for (char *line = text.p; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        char *end = nl ? nl : line + strlen(line);
        char *colon = memchr(line, ':', (size_t)(end - line));
        if (colon) {
            module_name(line, (size_t)(colon - line), have, sizeof have);
            if (strcmp(have, want) == 0) {
                found = dep_path(modules_dir, line, (size_t)(colon - line));
                if (found && line_deps(modules_dir, colon + 1, end, deps) < 0) {
                    free(found);
                    found = NULL;
                    break;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!found && asprintf(why, "module %s not found in %s", name, dep) < 0)
        *why = NULL;
    free(dep);
    buf_free(&text);
    return found;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* finit_module on one file. 0, or -1 with errno (EEXIST: already loaded). */
static int load_file(const char *path, const char *params)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int flags = ends_with(path, ".xz") || ends_with(path, ".zst") || ends_with(path, ".gz")
                    ? MODULE_INIT_COMPRESSED_FILE
                    : 0;
    long rc = syscall(SYS_finit_module, fd, params, flags);
    int e = errno;
    close(fd);
    errno = e;
    return rc == 0 ? 0 : -1;
}

static const char *explain(int e)
{
    switch (e) {
    case EPERM:
        return "not permitted: loading modules needs CAP_SYS_MODULE in the initial user "
               "namespace (containers and user namespaces refuse it), and "
               "kernel.modules_disabled must be 0";
    case ENOSYS:
        return "this kernel was built without loadable module support";
    case ENOEXEC:
        return "not a valid module for this kernel";
    case EKEYREJECTED:
        return "the module's signature was rejected";
    default:
        return NULL;
    }
}

static int finish(struct kmode_result *r, enum kmode_state s, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int finish(struct kmode_result *r, enum kmode_state s, int e, const char *fmt, ...)
{
    r->state = s;
    r->errnum = e;
    free(r->reason);
    r->reason = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&r->reason, fmt, ap) < 0)
            r->reason = NULL;
        va_end(ap);
    }
    if (s == KMODE_LOADED || s == KMODE_ALREADY_LOADED)
        log_info("Kmode: %s %s", r->module, kmode_state_name(s));
    else
        log_warning("Kmode: %s: %s", r->value ? r->value : "", r->reason ? r->reason : "");
    return 0;
}

static int load_failed(struct kmode_result *r, const char *what, int e)
{
    const char *x = explain(e);
    return finish(r, KMODE_FAILED, e, "cannot load %s: %s%s%s", what, strerror(e),
                  x ? ": " : "", x ? x : "");
}

/* Split "MODULE params..." into r->module (the word) and r->params. */
static int split_value(struct kmode_result *r, const char *line, char **word)
{
    line += strspn(line, " \t");
    size_t n = strcspn(line, " \t");
    *word = strndup(line, n);
    const char *rest = line + n;
    rest += strspn(rest, " \t");
    r->params = strdup(rest);
    return *word && r->params ? 0 : -1;
}

static const struct sm_named *kmode_entry(const struct smss_config *c)
{
    for (size_t i = 0; i < c->subsystems.n; i++)
        if (strcasecmp(c->subsystems.v[i].name, "Kmode") == 0)
            return &c->subsystems.v[i];
    return NULL;
}

static int load_module(struct kmode_result *r, const char *word, const char *modules_dir)
{
    char *why = NULL;
    r->module = kmode_resolve(word, modules_dir, &r->deps, &why);
    if (!r->module) {
        int rc = why ? finish(r, KMODE_SKIPPED, ENOENT, "%s", why) : -1;
        free(why);
        return rc;
    }
    for (size_t i = 0; i < r->deps.n; i++)
        if (load_file(r->deps.v[i], "") < 0 && errno != EEXIST)
            return load_failed(r, r->deps.v[i], errno);
    if (load_file(r->module, r->params) == 0)
        return finish(r, KMODE_LOADED, 0, NULL);
    if (errno == EEXIST)
        return finish(r, KMODE_ALREADY_LOADED, 0, NULL);
    if (errno == ENOENT)
        return finish(r, KMODE_SKIPPED, ENOENT, "%s: no such module file", r->module);
    return load_failed(r, r->module, errno);
}

int kmode_load(struct kmode_result *r, const struct smss_config *c, const struct sysenv *env,
               const char *modules_dir)
{
    const struct sm_named *k = kmode_entry(c);
    const char *v = k && k->value ? k->value : "";
    if (!k || !*(v + strspn(v, " \t"))) {
        r->state = KMODE_NOT_CONFIGURED;
        return 0;
    }
    r->value = k->expand && env ? sysenv_expand(env, v) : strdup(v);
    char *word = NULL, *dir = NULL;
    if (!r->value || split_value(r, r->value, &word) < 0) {
        free(word);
        return -1;
    }
    int rc;
    if (kmode_is_windows_path(word)) {
        rc = finish(r, KMODE_SKIPPED, 0, "%s is not a Linux module, skipped", word);
    } else {
        struct utsname u;
        if (!modules_dir && uname(&u) == 0 && asprintf(&dir, "/lib/modules/%s", u.release) < 0)
            dir = NULL;
        rc = load_module(r, word, modules_dir ? modules_dir : dir ? dir : "/lib/modules");
    }
    free(word);
    free(dir);
    return rc;
}

const char *kmode_state_name(enum kmode_state s)
{
    static const char *const names[] = {"not configured", "loaded", "already loaded",
                                        "skipped", "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

json_t *kmode_to_json(const struct kmode_result *r)
{
    json_t *deps = json_array();
    for (size_t i = 0; deps && i < r->deps.n; i++)
        if (json_array_append_new(deps, prep_json_string(r->deps.v[i])) < 0) {
            json_decref(deps);
            deps = NULL;
        }
    json_t *vals[] = {json_string(kmode_state_name(r->state)), prep_json_string(r->value),
                      prep_json_string(r->module), prep_json_string(r->params),
                      json_integer(r->errnum), prep_json_string(r->reason), deps};
    static const char *const keys[] = {"state", "value", "module", "params", "errno", "reason",
                                       "dependencies"};
    return json_object_of(keys, vals, sizeof keys / sizeof keys[0]);
}

void kmode_result_free(struct kmode_result *r)
{
    free(r->value);
    free(r->module);
    free(r->params);
    free(r->reason);
    strlist_free(&r->deps);
    *r = (struct kmode_result)KMODE_RESULT_INIT;
}

#include "objdirs.h"
#include "json_util.h"
#include "buf.h"
#include "log.h"
#include "sysenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directories smss itself uses, whatever the configuration says. */
static const char *const fixed_dirs[] = {"\\Sessions", "\\KnownDlls", "\\GLOBAL??"};

mode_t objdirs_mode(uint32_t protection_mode, const char *nt_name)
{
    if (!(protection_mode & 1))
        return 0777;
    /* NT gives these two its liberal descriptor: anyone may create objects there. */
    if (strcasecmp(nt_name, "\\Windows") == 0 || strcasecmp(nt_name, "\\RPC Control") == 0)
        return 01777;
    return 0755;
}

char *objdirs_path(const char *runtime_dir, const char *nt_name)
{
    const char *p = nt_name[0] == '\\' ? nt_name + 1 : nt_name;
    struct buf b = BUF_INIT;
    if (buf_puts(&b, runtime_dir) < 0)
        return NULL;
    do {
        size_t n = strcspn(p, "\\");
        if (n == 0 || memchr(p, '/', n) || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.')) {
            buf_free(&b);
            errno = EINVAL;
            return NULL;
        }
        if (buf_putc(&b, '/') < 0 || buf_append(&b, p, n) < 0) {
            buf_free(&b);
            return NULL;
        }
        p += n;
    } while (*p++ == '\\');
    return buf_steal(&b);
}

static int fail(struct objdirs_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct objdirs_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(r->error);
    if (vasprintf(&r->error, fmt, ap) < 0)
        r->error = NULL;
    va_end(ap);
    log_error("%s", r->error ? r->error : "object directories: out of memory");
    return -1;
}

/* mkdir, then the mode and owner set on what is there (umask-proof; a directory left by
 * an earlier boot gets them again). A symbolic link is refused, never followed. */
static int make_dir(const char *path, mode_t mode, bool *existed)
{
    *existed = false;
    if (mkdir(path, mode & 0777) < 0) {
        if (errno != EEXIST)
            return -1;
        *existed = true;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, mode);
    if (rc == 0 && geteuid() == 0)
        rc = fchown(fd, 0, 0);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The parents of an entry ("\A\B" needs A), as ordinary directories when missing. */
static int make_parents(const char *runtime_dir, const char *path, mode_t mode)
{
    size_t base = strlen(runtime_dir);
    char *copy = strdup(path);
    if (!copy)
        return -1;
    for (char *s = copy + base + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            int e = errno;
            free(copy);
            errno = e;
            return -1;
        }
        *s = '/';
    }
    free(copy);
    return 0;
}

static int add_dir(struct objdirs_result *r, const char *runtime_dir, const char *nt_name,
                   uint32_t protection_mode)
{
    char *path = objdirs_path(runtime_dir, nt_name);
    if (!path)
        return fail(r, "ObjectDirectories: \"%s\": %s", nt_name,
                    errno == EINVAL ? "not a valid object directory name (an empty, \".\" or "
                                      "\"..\" part, or a '/'); correct the value"
                                    : strerror(errno));
    mode_t mode = objdirs_mode(protection_mode, nt_name);
    bool existed = false;
    if (make_parents(runtime_dir, path, protection_mode & 1 ? 0755 : 0777) < 0 ||
        make_dir(path, mode, &existed) < 0) {
        int e = errno;
        fail(r, "ObjectDirectories: \"%s\": cannot create %s: %s", nt_name, path,
             e == ENOTDIR || e == ELOOP ? "something other than a directory is in the way"
                                        : strerror(e));
        free(path);
        return -1;
    }
    struct objdir *v = realloc(r->dirs, (r->ndirs + 1) * sizeof *v);
    char *name = strdup(nt_name);
    if (!v || !name) {
        if (v)
            r->dirs = v;
        free(path);
        free(name);
        return fail(r, "ObjectDirectories: out of memory");
    }
    r->dirs = v;
    r->dirs[r->ndirs++] = (struct objdir){name, path, mode, existed};
    log_debug("object directory %s: %s, mode %04o", nt_name, path, (unsigned)mode);
    return 0;
}

/* ---- DOS devices ---- */

/* The link text for a configured target (see objdirs.h). */
static char *link_text(const char *runtime_dir, const char *target)
{
    static const char *const global[] = {"\\DosDevices\\", "\\??\\", "\\GLOBAL??\\"};
    if (target[0] != '\\')
        return strdup(target);
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        size_t n = strlen(global[i]);
        if (strncasecmp(target, global[i], n) == 0 && target[n]) {
            char *s = strdup(target + n);
            for (char *p = s; p && *p; p++)
                if (*p == '\\')
                    *p = '/';
            return s;
        }
    }
    return objdirs_path(runtime_dir, target);
}

static bool valid_link_name(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* symlink under a temporary name, then rename over the old one: never a moment without
 * the link. */
static int place_link(const char *text, const char *link, bool *replaced)
{
    struct stat st;
    *replaced = lstat(link, &st) == 0;
    char *tmp;
    if (asprintf(&tmp, "%s.smss-new.%ld", link, (long)getpid()) < 0)
        return -1;
    unlink(tmp);
    int rc = symlink(text, tmp);
    if (rc == 0 && (rc = rename(tmp, link)) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    free(tmp);
    return rc;
}

static int add_link(struct objdirs_result *r, const char *runtime_dir, const struct sm_named *d)
{
    const char *target = d->value ? d->value : "";
    if (!valid_link_name(d->name) || !*target)
        return fail(r, "DOS Devices\\%s: %s; correct the value", d->name,
                    *target ? "not a valid link name (empty, \".\", \"..\" or holding '/')"
                            : "empty target");
    struct dosdevice dev = {0};
    dev.name = strdup(d->name);
    dev.target = strdup(target);
    dev.points_to = link_text(runtime_dir, target);
    if (asprintf(&dev.link, "%s/GLOBAL\?\?/%s", runtime_dir, d->name) < 0)
        dev.link = NULL;
    int rc = 0;
    if (!dev.name || !dev.target || !dev.link || !dev.points_to)
        rc = fail(r, "DOS Devices\\%s: %s", d->name,
                  errno == EINVAL ? "target is not a valid object path" : strerror(errno));
    else if (place_link(dev.points_to, dev.link, &dev.replaced) < 0)
        rc = fail(r, "DOS Devices\\%s: cannot link %s → %s: %s", d->name, dev.link,
                  dev.points_to, strerror(errno));
    struct dosdevice *v = rc == 0 ? realloc(r->links, (r->nlinks + 1) * sizeof *v) : NULL;
    if (v) {
        r->links = v;
        r->links[r->nlinks++] = dev;
        return 0;
    }
    free(dev.name);
    free(dev.target);
    free(dev.link);
    free(dev.points_to);
    return rc < 0 ? rc : fail(r, "DOS Devices: out of memory");
}

int objdirs_create(struct objdirs_result *r, const struct smss_config *c, const char *runtime_dir)
{
    if (make_parents("", runtime_dir, 0755) < 0 ||
        (mkdir(runtime_dir, 0755) < 0 && errno != EEXIST))
        return fail(r, "runtime directory %s: cannot create it: %s", runtime_dir, strerror(errno));
    for (size_t i = 0; i < sizeof fixed_dirs / sizeof fixed_dirs[0]; i++)
        if (add_dir(r, runtime_dir, fixed_dirs[i], c->protection_mode) < 0)
            return -1;
    for (size_t i = 0; i < c->object_directories.n; i++)
        if (add_dir(r, runtime_dir, c->object_directories.v[i], c->protection_mode) < 0)
            return -1;
    for (size_t i = 0; i < c->dos_devices.n; i++)
        if (add_link(r, runtime_dir, &c->dos_devices.v[i]) < 0)
            return -1;
    log_info("object directories: %zu created, %zu DOS devices linked", r->ndirs, r->nlinks);
    return 0;
}

static json_t *dir_json(const struct objdir *d)
{
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", (unsigned)d->mode);
    json_t *o = json_object();
    if (o && (json_set(o, "name", prep_json_string(d->nt_name)) < 0 ||
              json_set(o, "path", prep_json_string(d->path)) < 0 || json_set(o, "mode", json_string(mode)) < 0 ||
              json_set(o, "existed", json_boolean(d->existed)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *link_json(const struct dosdevice *d)
{
    json_t *o = json_object();
    if (o && (json_set(o, "name", prep_json_string(d->name)) < 0 ||
              json_set(o, "target", prep_json_string(d->target)) < 0 ||
              json_set(o, "link", prep_json_string(d->link)) < 0 ||
              json_set(o, "points_to", prep_json_string(d->points_to)) < 0 ||
              json_set(o, "replaced", json_boolean(d->replaced)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *objdirs_to_json(const struct objdirs_result *r)
{
    json_t *o = json_object(), *dirs = json_array(), *links = json_array();
    for (size_t i = 0; dirs && i < r->ndirs; i++)
        if (json_array_append_new(dirs, dir_json(&r->dirs[i])) < 0)
            goto fail;
    for (size_t i = 0; links && i < r->nlinks; i++)
        if (json_array_append_new(links, link_json(&r->links[i])) < 0)
            goto fail;
    if (!o || !dirs || !links)
        goto fail;
    int rc = json_object_set_new(o, "directories", dirs);
    dirs = NULL;
    if (rc < 0 || (rc = json_object_set_new(o, "dos_devices", links), links = NULL, rc) < 0 ||
        json_set(o, "error", prep_json_string(r->error)) < 0)
        goto fail;
    return o;
fail:
    json_decref(dirs);
    json_decref(links);
    json_decref(o);
    return NULL;
}

void objdirs_result_free(struct objdirs_result *r)
{
    for (size_t i = 0; i < r->ndirs; i++) {
        free(r->dirs[i].nt_name);
        free(r->dirs[i].path);
    }
    for (size_t i = 0; i < r->nlinks; i++) {
        free(r->links[i].name);
        free(r->links[i].target);
        free(r->links[i].link);
        free(r->links[i].points_to);
    }
    free(r->dirs);
    free(r->links);
    free(r->error);
    *r = (struct objdirs_result)OBJDIRS_RESULT_INIT;
}

#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int platform_signalfd(const int *signals, size_t n)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < n; i++)
        sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int platform_set_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int platform_nice_for_priority(int nt_priority)
{
    int nice = 8 - nt_priority;
    return nice < -20 ? -20 : nice > 19 ? 19 : nice;
}

int platform_set_nice(int nice) { return setpriority(PRIO_PROCESS, 0, nice); }

int platform_unshare(int clone_flags) { return unshare(clone_flags); }

pid_t platform_fork_into_cgroup(int cgroup_fd)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

int platform_close_all_except(int keep1, int keep2)
{
    int lo = keep1 < keep2 ? keep1 : keep2, hi = keep1 < keep2 ? keep2 : keep1;
    unsigned from = 3;
    for (int k = 0, keep[2] = {lo, hi}; k < 2; k++) {
        if (keep[k] < (int)from)
            continue;
        if ((unsigned)keep[k] > from && close_range(from, (unsigned)keep[k] - 1, 0) < 0)
            return -1;
        from = (unsigned)keep[k] + 1;
    }
    return close_range(from, ~0U, 0);
}

static int stat_field_range(pid_t pid, int first, int last, unsigned long long *out);

int platform_set_cmdline(char *const argv[])
{
    /* Anonymous memory: the kernel reads a command line only from such a mapping. */
    static char *area;
    if (!area) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return -1;
        area = m;
    }
    size_t n = 0;
    for (size_t i = 0; argv[i]; i++) {
        size_t len = strlen(argv[i]) + 1;
        if (n + len > 4096) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(area + n, argv[i], len);
        n += len;
    }
    /* PR_SET_MM_MAP, the whole map at once, with everything but the arguments as it is:
     * unlike PR_SET_MM_ARG_START it needs no CAP_SYS_RESOURCE for one's own process. */
    unsigned long long v[52]; /* by proc(5)'s field numbers: 26 startcode ... 51 env_end */
    if (stat_field_range(getpid(), 26, 51, &v[26]) < 0)
        return -1;
    struct prctl_mm_map map = {
        .start_code = v[26], .end_code = v[27], .start_stack = v[28], .start_data = v[45],
        .end_data = v[46], .start_brk = v[47], .brk = (uint64_t)syscall(SYS_brk, 0),
        .arg_start = (uint64_t)(uintptr_t)area, .arg_end = (uint64_t)(uintptr_t)(area + n),
        .env_start = v[50], .env_end = v[51], .exe_fd = (uint32_t)-1,
    };
    return prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0);
}

int platform_mount_slave_at(const char *path)
{
    if (mount(NULL, path, NULL, MS_SLAVE, NULL) == 0)
        return 0;
    return platform_mounts_slave();
}

pid_t platform_fork_into(int clone_flags)
{
    /* clone(2) without a new stack behaves as fork; the program is single-threaded. */
    return (pid_t)syscall(SYS_clone, (unsigned long)clone_flags | SIGCHLD, NULL, NULL, NULL, 0);
}

int platform_mounts_private(void) { return mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL); }

int platform_mounts_slave(void) { return mount("none", "/", NULL, MS_REC | MS_SLAVE, NULL); }

int platform_mount_proc(const char *where)
{
    return mount("proc", where, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int platform_mount_tmpfs(const char *where, mode_t mode)
{
    char opts[32];
    snprintf(opts, sizeof opts, "mode=%04o", (unsigned)mode);
    return mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

int platform_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

const char *platform_cgroup2_root(void)
{
    static char root[PATH_MAX];
    static int probed;
    if (probed)
        return root[0] ? root : NULL;
    probed = 1;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return NULL;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        /* "... mountpoint options - fstype source superoptions" */
        char *sep = strstr(line, " - ");
        if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
            continue;
        char mnt[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
            continue;
        if (access(mnt, W_OK) == 0) {
            snprintf(root, sizeof root, "%s", mnt);
            break;
        }
    }
    fclose(f);
    return root[0] ? root : NULL;
}

int platform_cgroup2_self(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -1;
    char line[4096];
    int r = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(out, n, "%s", line + 3);
        r = 0;
    }
    fclose(f);
    if (r < 0)
        errno = ENOENT;
    return r;
}

int platform_cgroup_kill(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.kill", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, "1", 1);
    int e = errno;
    close(fd);
    errno = e;
    return w == 1 ? 0 : -1;
}

int platform_cgroup_remove(const char *dir) { return rmdir(dir); }

/* The fields of /proc/PID/stat after the command name, which may hold spaces. */
static int read_stat_fields(pid_t pid, char *buf, size_t n, char **after_comm)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r <= 0)
        return -1;
    buf[r] = '\0';
    char *close_paren = strrchr(buf, ')');
    if (!close_paren)
        return -1;
    *after_comm = close_paren + 2; /* field 3, the state */
    return 0;
}

/* Fields first..last (1-based, as proc(5) counts) of /proc/PID/stat, into out[0...]. */
static int stat_field_range(pid_t pid, int first, int last, unsigned long long *out)
{
    char buf[1024], *p;
    if (read_stat_fields(pid, buf, sizeof buf, &p) < 0)
        return -1;
    for (int i = 3; i < first && p; i++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    for (int i = first; i <= last; i++) {
        char *end;
        if (!p || !*p)
            return -1;
        /* nice (19) is signed: strtoll's value as the caller's unsigned type */
        out[i - first] = i == 19 ? (unsigned long long)strtoll(p, &end, 10) : strtoull(p, &end, 10);
        p = *end == ' ' ? end + 1 : NULL;
    }
    return 0;
}

static int stat_field(pid_t pid, int field, unsigned long long *out)
{
    return stat_field_range(pid, field, field, out);
}

uint64_t platform_process_start_ticks(pid_t pid)
{
    unsigned long long v;
    return stat_field(pid, 22, &v) == 0 ? v : 0;
}

uint64_t platform_ticks_to_realtime_ns(uint64_t ticks)
{
    struct timespec now, mono;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_BOOTTIME, &mono);
    long hz = sysconf(_SC_CLK_TCK);
    int64_t boot_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec -
                      ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec);
    return (uint64_t)(boot_ns + (int64_t)(ticks * (1000000000ull / (uint64_t)hz)));
}

pid_t platform_process_ppid(pid_t pid)
{
    unsigned long long v;
    return stat_field(pid, 4, &v) == 0 ? (pid_t)v : -1;
}

int platform_signal_where(int field, pid_t value, int sig)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        unsigned long long v;
        if (*end || pid <= 0 || stat_field((pid_t)pid, field, &v) < 0 || (pid_t)v != value)
            continue;
        if (kill((pid_t)pid, sig) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int platform_process_nice(pid_t pid)
{
    unsigned long long v;
    return stat_field(pid, 19, &v) == 0 ? (int)(long long)v : 0;
}

long platform_process_uid(pid_t pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    return stat(path, &st) == 0 ? (long)st.st_uid : -1;
}

void platform_process_image(pid_t pid, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t r = readlink(path, out, n - 1);
    out[r > 0 ? r : 0] = '\0';
}

size_t platform_process_cmdline(pid_t pid, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || n < 2) {
        if (fd >= 0)
            close(fd);
        if (n)
            out[0] = '\0';
        return 0;
    }
    ssize_t r = read(fd, out, n - 2);
    close(fd);
    size_t len = r > 0 ? (size_t)r : 0;
    out[len] = out[len + 1] = '\0';
    return len;
}

size_t platform_descendants(pid_t ancestor, pid_t *pids, size_t max)
{
    /* Parent links of every process, then a walk down from the ancestor. */
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t cap = 1024, n = 0;
    pid_t(*links)[2] = malloc(cap * sizeof *links);
    struct dirent *e;
    while (links && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        pid_t ppid = platform_process_ppid((pid_t)pid);
        if (ppid < 0)
            continue;
        if (n == cap) {
            void *grown = realloc(links, 2 * cap * sizeof *links);
            if (!grown)
                break;
            links = grown;
            cap *= 2;
        }
        links[n][0] = (pid_t)pid;
        links[n][1] = ppid;
        n++;
    }
    closedir(d);
    size_t count = 0, next = 0;
    if (!links)
        return 0;
    /* Breadth-first; pids[] doubles as the queue of parents still to visit. */
    for (pid_t parent = ancestor;;) {
        for (size_t i = 0; i < n && count < max; i++)
            if (links[i][1] == parent)
                pids[count++] = links[i][0];
        if (next >= count)
            break;
        parent = pids[next++];
    }
    free(links);
    return count;
}

size_t platform_release_clean_file_pages(void)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return 0;
    char line[512], path[256] = "", perms[8] = "";
    unsigned long start = 0, end = 0;
    long rss = 0;
    bool dirty = true;
    size_t released = 0;
    for (bool more = true; more;) {
        more = fgets(line, sizeof line, f) != NULL;
        unsigned long s, e;
        bool header = more && sscanf(line, "%lx-%lx %7s", &s, &e, perms + 0) == 3 &&
                      strchr(line, ' ') && line[strcspn(line, "-")] == '-' &&
                      strchr("0123456789abcdef", line[0]);
        if (!more || header) {
            /* Finish the previous mapping: a file's, read-only, never privately written. */
            /* MADV_RANDOM first: later faults then map the page touched, not the 64 KiB
             * around it, so the release lasts. */
            if (end > start && path[0] == '/' && !dirty && rss > 0 && !strchr(perms, 'w') &&
                madvise((void *)start, end - start, MADV_RANDOM) == 0 &&
                madvise((void *)start, end - start, MADV_DONTNEED) == 0)
                released += (size_t)rss;
            if (!more)
                break;
            start = s;
            end = e;
            rss = 0;
            dirty = false;
            path[0] = '\0';
            sscanf(line, "%*s %7s %*s %*s %*s %255s", perms, path);
            continue;
        }
        long v;
        if (sscanf(line, "Rss: %ld", &v) == 1)
            rss = v;
        else if (sscanf(line, "Private_Dirty: %ld", &v) == 1 && v > 0)
            dirty = true;
        else if (sscanf(line, "Anonymous: %ld", &v) == 1 && v > 0)
            dirty = true;
    }
    fclose(f);
    return released;
}

int platform_reboot(bool power_off)
{
    sync();
    return reboot(power_off ? RB_POWER_OFF : RB_AUTOBOOT);
}

int platform_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int platform_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid)
{
    struct ucred c;
    socklen_t len = sizeof c;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0)
        return -1;
    *pid = c.pid;
    *uid = c.uid;
    *gid = c.gid;
    return 0;
}

/* One master only: an exclusive lock on <runtime>/smss.lock, which holds the master's
 * PID. A second master names the first and exits without touching anything. */
#include "master.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int instance_lock(const char *runtime_dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/smss.lock", runtime_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_error("cannot open the instance lock %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        log_error("another master Session Manager is running (PID %s, lock %s); only one "
                  "smss may run; this one exits without doing anything",
                  pid[0] ? pid : "unknown", path);
        close(fd);
        errno = EEXIST;
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warning("cannot write the master's PID into %s: %s", path, strerror(errno));
    return fd;
}

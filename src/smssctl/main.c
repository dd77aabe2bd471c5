/* smssctl: global options, the table of subcommands, and what subcommands share. */
#include "smssctl.h"

#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct command {
    const char *name;
    int (*run)(struct smssctl *ctl, int argc, char **argv);
    const char *summary;
};

#define X(name, summary) {#name, cmd_##name, summary},
static const struct command commands[] = {SMSSCTL_COMMANDS(X)};
#undef X

static void usage(FILE *f)
{
    fputs("Usage: smssctl [--config FILE.reg] [--hive FILE]... [--system-root DIR] COMMAND [ARGS]\n"
          "       smssctl COMMAND --help\n"
          "\n"
          "The client of the Session Manager (smss).\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Options:\n"
          "  --config FILE.reg  read the configuration from this .reg file (instead of the\n"
          "                     embedded default and " SMSS_SYSCONFDIR "/smss/smss.reg)\n"
          "  --hive FILE        read it from a SYSTEM (or SOFTWARE) hive; repeatable\n"
          "  --system-root DIR  the directory %SystemRoot% stands for (default: where smss is)\n"
          "  --help             this text\n"
          "\n"
          "Exit status: 0 success, 1 refused or found something, 2 usage or input error.\n"
          "See smssctl(8).\n",
          f);
}

int smssctl_read_options(int argc, char **argv, const char *usage, bool *json,
                         const char **runtime_dir)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"runtime-dir", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    optind = 0; /* GNU getopt: start afresh after main's own parse */
    while ((o = getopt_long(argc, argv, "jr:h", opts, NULL)) != -1) {
        switch (o) {
        case 'j': *json = true; break;
        case 'r': *runtime_dir = optarg; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    return -1;
}

int smssctl_fail(const char *cmd, int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "smssctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

const struct smss_config *smssctl_config(struct smssctl *ctl)
{
    if (ctl->config_loaded)
        return &ctl->config;
    struct diags d = DIAGS_INIT;
    int rc = smss_config_load(&ctl->config, &ctl->sources, &d);
    if (d.errors || d.warnings)
        diags_print(&d, 2);
    diags_free(&d);
    if (rc) {
        smssctl_fail(NULL, EXIT_USAGE, "cannot load the configuration (see above); fix it or "
                                       "name another with --config");
        return NULL;
    }
    ctl->config_loaded = true;
    return &ctl->config;
}

static bool is_dir_with_smss(const char *dir)
{
    char p[PATH_MAX];
    struct stat st;
    return snprintf(p, sizeof p, "%s/smss", dir) < (int)sizeof p && stat(p, &st) == 0 &&
           S_ISREG(st.st_mode);
}

const char *smssctl_system_root(struct smssctl *ctl)
{
    static char found[PATH_MAX];
    if (ctl->system_root)
        return ctl->system_root;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (is_dir_with_smss(self)) {
                memcpy(found, self, (size_t)(slash - self) + 1);
                return ctl->system_root = found;
            }
            char up[PATH_MAX + 16];
            snprintf(up, sizeof up, "%s/../sbin", self);
            char *r = realpath(up, NULL);
            if (r && is_dir_with_smss(r) && strlen(r) < sizeof found) {
                strcpy(found, r);
                free(r);
                return ctl->system_root = found;
            }
            free(r);
        }
    }
    return ctl->system_root = "/usr/local/sbin";
}

static bool in_group(gid_t g)
{
    if (getegid() == g)
        return true;
    int n = getgroups(0, NULL);
    gid_t *v = n > 0 ? malloc((size_t)n * sizeof *v) : NULL;
    bool found = false;
    if (v && (n = getgroups(n, v)) > 0)
        for (int i = 0; i < n && !found; i++)
            found = v[i] == g;
    free(v);
    return found;
}

bool smssctl_authorised(struct smssctl *ctl, const char *what)
{
    if (geteuid() == 0)
        return true;
    const struct smss_config *c = smssctl_config(ctl);
    if (!c)
        return false;
    struct group *g = c->api_group ? getgrnam(c->api_group) : NULL;
    if (g && in_group(g->gr_gid))
        return true;
    if (c->api_group)
        smssctl_fail(what, EXIT_REFUSED,
                     "refused: needs root or membership of the group %s (Session Manager\\Linux\\ApiGroup)%s",
                     c->api_group, g ? "" : ", which does not exist");
    else
        smssctl_fail(what, EXIT_REFUSED,
                     "refused: needs root (no ApiGroup is configured in Session Manager\\Linux)");
    return false;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Global options; returns the index of the command name, or -(exit code + 1). */
static int parse_global(struct smssctl *ctl, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"hive", required_argument, NULL, 'H'},
                                         {"system-root", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            ctl->sources.reg_file = optarg;
            break;
        case 'H':
            if (ctl->sources.nhives == sizeof ctl->sources.hives / sizeof *ctl->sources.hives)
                return -(smssctl_fail(NULL, EXIT_USAGE, "too many --hive options") + 1);
            ctl->sources.hives[ctl->sources.nhives++] = optarg;
            break;
        case 'r':
            ctl->system_root = optarg;
            break;
        case 'h':
            usage(stdout);
            return -(EXIT_OK + 1);
        default:
            usage(stderr);
            return -(EXIT_USAGE + 1);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return -(EXIT_USAGE + 1);
    }
    return optind;
}

int main(int argc, char **argv)
{
    struct smssctl ctl = {.program = "smssctl"};
    log_init("smssctl", LOG_LEVEL_WARNING);
    int i = parse_global(&ctl, argc, argv);
    if (i < 0)
        return -i - 1;
    const struct command *cmd = find_command(argv[i]);
    if (!cmd)
        return smssctl_fail(NULL, EXIT_USAGE, "unknown command '%s' (smssctl --help lists them)", argv[i]);
    optind = 0; /* each command parses its own options from its name on */
    int rc = cmd->run(&ctl, argc - i, argv + i);
    if (ctl.config_loaded)
        smss_config_free(&ctl.config);
    return rc;
}

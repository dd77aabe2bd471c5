/* smss: the Session Manager. This file reads the command line and hands over to one of
 * the modes: boot (the master, PID 1 or subreaper), a session child instance, the
 * sandbox, or one of the configuration checks. */
#include "config.h"
#include "log.h"
#include "smss_modes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("Usage: smss [OPTION]...                    boot: the master Session Manager\n"
          "       smss --sandbox [OPTION]... -- CMD [ARG]...\n"
          "       smss --check-config [OPTION]...\n"
          "       smss --print-config [--utf16] [OPTION]...\n"
          "\n"
          "The Windows NT Session Manager for Linux: the first user-mode process. It performs\n"
          "the delayed renames, snapshots the known libraries, creates the paging files and\n"
          "the system environment, starts session 0 (csrss, wininit) and session 1 (csrss,\n"
          "winlogon) through child copies of itself, and stays as the one master.\n"
          "\n"
          "Configuration (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager):\n"
          "  -c, --config FILE.reg   read this .reg file instead of the embedded default\n"
          "                          and " SMSS_SYSCONFDIR "/smss/smss.reg\n"
          "      --merge FILE.reg    merge this file over the embedded default instead of\n"
          "                          " SMSS_SYSCONFDIR "/smss/smss.reg\n"
          "      --hive FILE         read a SYSTEM (or SOFTWARE) hive; may be repeated\n"
          "      --hive-unsafe       read what a damaged hive still holds, and say so\n"
          "      --runtime-dir DIR   override Linux\\RuntimeDirectory (default /run/smss)\n"
          "      --state-dir DIR     override Linux\\StateDirectory (default /var/lib/smss)\n"
          "\n"
          "Modes:\n"
          "      --check-config      list every problem of the configuration; exit 2 on\n"
          "                          errors, 0 otherwise\n"
          "      --print-config      print the effective configuration as a .reg file\n"
          "      --utf16             with --print-config: regedit's UTF-16LE with CRLF\n"
          "      --sandbox           boot the whole system in new PID, mount, IPC and UTS\n"
          "                          namespaces, run CMD in session 1, shut down, exit\n"
          "                          with CMD's status\n"
          "  -v, --verbose           log debug messages too\n"
          "  -h, --help              show this help\n"
          "\n"
          "Exit status: 0 success; 1 refused (another master runs); 2 usage or\n"
          "configuration error; after a system crash, Linux\\CrashExitCode (26).\n"
          "See smss(8).\n",
          out);
}

enum { OPT_MERGE = 255, OPT_HIVE = 256, OPT_HIVE_UNSAFE, OPT_RUNTIME, OPT_STATE, OPT_CHECK, OPT_PRINT,
       OPT_UTF16, OPT_SANDBOX };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"hive", required_argument, NULL, OPT_HIVE},
        {"merge", required_argument, NULL, OPT_MERGE},
        {"hive-unsafe", no_argument, NULL, OPT_HIVE_UNSAFE},
        {"runtime-dir", required_argument, NULL, OPT_RUNTIME},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"utf16", no_argument, NULL, OPT_UTF16},
        {"sandbox", no_argument, NULL, OPT_SANDBOX},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct smss_options o = {0};
    log_init("smss", LOG_LEVEL_INFO);
    int c;
    while ((c = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.sources.reg_file = optarg; break;
        case OPT_MERGE: o.sources.sysconf_reg = optarg; break;
        case OPT_HIVE:
            if (o.sources.nhives == sizeof o.sources.hives / sizeof *o.sources.hives) {
                fprintf(stderr, "smss: at most %zu --hive options\n",
                        sizeof o.sources.hives / sizeof *o.sources.hives);
                return 2;
            }
            o.sources.hives[o.sources.nhives++] = optarg;
            break;
        case OPT_HIVE_UNSAFE: o.sources.hive_unsafe = true; break;
        case OPT_RUNTIME: o.runtime_dir = optarg; break;
        case OPT_STATE: o.state_dir = optarg; break;
        case OPT_CHECK: o.mode = SMSS_MODE_CHECK_CONFIG; break;
        case OPT_PRINT: o.mode = SMSS_MODE_PRINT_CONFIG; break;
        case OPT_UTF16: o.utf16 = true; break;
        case OPT_SANDBOX: o.mode = SMSS_MODE_SANDBOX; break;
        case 'v': log_set_level(LOG_LEVEL_DEBUG); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    o.argc = argc - optind;
    o.argv = argv + optind;
    if (o.mode == SMSS_MODE_BOOT && o.argc == 0 && getpid() == 1 &&
        getenv("SMSS_SANDBOX_COMMAND_FD"))
        return smss_sandbox_pid1(&o);
    if (o.mode == SMSS_MODE_BOOT && smss_is_session_child(o.argc, o.argv))
        o.mode = SMSS_MODE_SESSION_CHILD;
    if ((o.mode == SMSS_MODE_BOOT || o.mode == SMSS_MODE_CHECK_CONFIG ||
         o.mode == SMSS_MODE_PRINT_CONFIG) && o.argc) {
        fprintf(stderr, "smss: unexpected argument '%s'; see smss --help\n", o.argv[0]);
        return 2;
    }
    return smss_run_mode(&o);
}

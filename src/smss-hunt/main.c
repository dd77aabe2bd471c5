/* smss-hunt: judge process trees and Session Manager configurations against the
 * baseline of normal behaviour (rules/baseline.rules), on Windows evidence (EVTX, JSON
 * lines, Volatility 3 listings, process CSV, SYSTEM hives and .reg files) or on this
 * Linux machine running smss ("smss-hunt live"). Exit: 0 clean, 1 findings, 2 usage or
 * input errors. */
#include "diag.h"
#include "hunt_config_rules.h"
#include "hunt_input.h"
#include "hunt_live.h"
#include "hunt_output.h"
#include "hunt_rules.h"
#include "hunt_tree.h"
#include "regmodel.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: smss-hunt [OPTIONS] INPUT...\n"
    "       smss-hunt [OPTIONS] live [--runtime-dir DIR] [--proc DIR] [--smss-dir DIR]\n"
    "                                [--config FILE.reg]\n"
    "\n"
    "Judge process trees and Session Manager configurations against the baseline of\n"
    "normal smss, csrss, wininit, winlogon (and the other core processes) behaviour.\n"
    "\n"
    "Inputs (format detected from content): EVTX (Sysmon 1/5, Security 4688/4689),\n"
    "JSON lines of the same events (Winlogbeat, NXLog, datasets), Volatility 3\n"
    "pslist/pstree output (JSON or text), a process CSV (Process Explorer,\n"
    "Get-CimInstance Win32_Process), SYSTEM hives and .reg files. Several inputs of\n"
    "one machine are combined into one process tree.\n"
    "\n"
    "  -f, --format FMT         table (default), jsonl or csv\n"
    "      --json               same as --format jsonl\n"
    "  -t, --tree               also print the process tree, findings marked\n"
    "  -i, --input-format FMT   evtx, jsonl, volatility-json, volatility-text, csv,\n"
    "                           hive or reg: for every INPUT, instead of detecting\n"
    "  -r, --rules FILE         read FILE after the built-in rules (repeatable)\n"
    "  -w, --windows-version V  xp, 7 or 10: judge by that version only\n"
    "      --system-root DIR    the Windows directory (default C:\\Windows)\n"
    "      --color, --no-color  colour the table (default: on a terminal)\n"
    "      --print-rules        print the built-in rules file and exit\n"
    "  -h, --help               this text\n"
    "live options:\n"
    "      --runtime-dir DIR    smss's runtime directory; DIR/processes.json (as\n"
    "                           \"smssctl tree --json\" prints it) gives creators, sessions\n"
    "      --proc DIR           the proc file system to read (default /proc)\n"
    "      --smss-dir DIR       where smss and its programs are installed (default:\n"
    "                           the directory of the master's executable)\n"
    "      --config FILE.reg    the configuration to audit (default: DIR/config.reg,\n"
    "                           the effective configuration smss writes)\n"
    "\n"
    "Exit status: 0 no findings, 1 findings, 2 usage or input error.\n";

struct run {
    struct hunt_ruleset rules;
    struct hunt_output out;
    struct hunt_tree *tree;
    struct diags diags;
    struct hunt_input_stats stats;
    size_t config_findings;
    bool input_error;
    bool tree_wanted;
    unsigned os;
};

static void on_finding(void *ctx, struct hunt_finding *f)
{
    struct run *r = ctx;
    hunt_output_finding(&r->out, f);
}

static int on_record(void *ctx, const struct hunt_record *rec)
{
    struct run *r = ctx;
    return hunt_tree_add(r->tree, rec);
}

static int audit_config(struct run *r, const char *path, bool is_hive, unsigned os)
{
    struct reg_store *store = reg_store_new();
    if (!store)
        return -1;
    int rc = hunt_config_load(store, path, is_hive, &r->diags);
    if (rc == 0)
        rc = hunt_config_audit(&r->rules, store, path, os, on_finding, r, &r->config_findings,
                               &r->diags);
    reg_store_free(store);
    return rc;
}

static unsigned windows_os(const struct run *r)
{
    return r->os & HUNT_OS_WINDOWS ? r->os & HUNT_OS_WINDOWS : (HUNT_OS_7 | HUNT_OS_10);
}

/* live: the configuration the running smss uses (--config, else the effective one smss
 * writes to its runtime directory), judged by the Linux table. Absent: nothing to do. */
static int audit_live_config(struct run *r, const struct hunt_live_options *lo,
                             const char *config)
{
    char path[4096];
    const char *rundir = lo->runtime_dir ? lo->runtime_dir : getenv("SMSS_RUNTIME_DIR");
    if (!config) {
        if (!rundir)
            return 0;
        snprintf(path, sizeof path, "%s/config.reg", rundir);
        if (access(path, R_OK) != 0)
            return 0;
        config = path;
    }
    return audit_config(r, config, false, HUNT_OS_LINUX);
}

static int read_input(struct run *r, const char *path, enum hunt_format forced)
{
    enum hunt_format f = forced;
    if (f == HUNT_FMT_AUTO) {
        f = hunt_format_detect_file(path);
        if (f == HUNT_FMT_UNKNOWN) {
            diag_add(&r->diags, DIAG_ERROR, path, "%s",
                     errno ? strerror(errno)
                           : "cannot tell the format from the content; name it with "
                             "--input-format");
            return -1;
        }
    }
    switch (f) {
    case HUNT_FMT_EVTX: return hunt_input_evtx(path, on_record, r, &r->stats, &r->diags);
    case HUNT_FMT_JSONL: return hunt_input_jsonl(path, on_record, r, &r->stats, &r->diags);
    case HUNT_FMT_VOLATILITY_JSON:
    case HUNT_FMT_VOLATILITY_TEXT:
        return hunt_input_volatility(path, f, on_record, r, &r->stats, &r->diags);
    case HUNT_FMT_CSV: return hunt_input_csv(path, on_record, r, &r->stats, &r->diags);
    case HUNT_FMT_HIVE: return audit_config(r, path, true, windows_os(r));
    case HUNT_FMT_REG: return audit_config(r, path, false, windows_os(r));
    default: return -1;
    }
}

enum {
    OPT_JSON = 256, OPT_COLOR, OPT_NO_COLOR, OPT_SYSTEM_ROOT, OPT_RUNTIME_DIR, OPT_PROC,
    OPT_SMSS_DIR, OPT_PRINT_RULES, OPT_CONFIG
};

struct options {
    enum hunt_out_format format;
    enum hunt_format input_format;
    int color; /* -1 auto */
    const char *rules[8];
    size_t nrules;
    const char *system_root;
    struct hunt_live_options live;
    const char *live_config;
    bool print_rules;
};

static int parse_options(int argc, char **argv, struct options *o, struct run *r)
{
    static const struct option longs[] = {
        {"format", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, OPT_JSON},
        {"tree", no_argument, NULL, 't'},
        {"input-format", required_argument, NULL, 'i'},
        {"rules", required_argument, NULL, 'r'},
        {"windows-version", required_argument, NULL, 'w'},
        {"system-root", required_argument, NULL, OPT_SYSTEM_ROOT},
        {"color", no_argument, NULL, OPT_COLOR},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR},
        {"proc", required_argument, NULL, OPT_PROC},
        {"smss-dir", required_argument, NULL, OPT_SMSS_DIR},
        {"print-rules", no_argument, NULL, OPT_PRINT_RULES},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "f:ti:r:w:h", longs, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "table"))
                o->format = HUNT_OUT_TABLE;
            else if (!strcmp(optarg, "jsonl") || !strcmp(optarg, "json"))
                o->format = HUNT_OUT_JSONL;
            else if (!strcmp(optarg, "csv"))
                o->format = HUNT_OUT_CSV;
            else
                return fprintf(stderr, "smss-hunt: --format %s: expected table, jsonl or csv\n",
                               optarg), -1;
            break;
        case OPT_JSON: o->format = HUNT_OUT_JSONL; break;
        case 't': r->tree_wanted = true; break;
        case 'i':
            o->input_format = hunt_format_parse(optarg);
            if (o->input_format == HUNT_FMT_UNKNOWN || o->input_format == HUNT_FMT_AUTO)
                return fprintf(stderr, "smss-hunt: --input-format %s: expected evtx, jsonl, "
                               "volatility-json, volatility-text, csv, hive or reg\n", optarg), -1;
            break;
        case 'r':
            if (o->nrules == sizeof o->rules / sizeof *o->rules)
                return fprintf(stderr, "smss-hunt: at most 8 --rules files\n"), -1;
            o->rules[o->nrules++] = optarg;
            break;
        case 'w':
            r->os = hunt_os_parse(optarg);
            if (!r->os || (r->os & ~HUNT_OS_WINDOWS))
                return fprintf(stderr, "smss-hunt: --windows-version %s: expected xp, 7 or 10\n",
                               optarg), -1;
            break;
        case OPT_SYSTEM_ROOT: o->system_root = optarg; break;
        case OPT_COLOR: o->color = 1; break;
        case OPT_NO_COLOR: o->color = 0; break;
        case OPT_RUNTIME_DIR: o->live.runtime_dir = optarg; break;
        case OPT_PROC: o->live.proc = optarg; break;
        case OPT_SMSS_DIR: o->live.smss_dir = optarg; break;
        case OPT_PRINT_RULES: o->print_rules = true; break;
        case OPT_CONFIG: o->live_config = optarg; break;
        case 'h': fputs(usage, stdout); exit(0);
        default: return -1;
        }
    }
    return 0;
}

static int load_rules(struct run *r, const struct options *o)
{
    hunt_ruleset_init(&r->rules);
    if (hunt_ruleset_load_default(&r->rules, &r->diags) < 0)
        return -1;
    for (size_t i = 0; i < o->nrules; i++)
        if (hunt_ruleset_load_file(&r->rules, o->rules[i], &r->diags) < 0)
            return -1;
    if (o->system_root) {
        free(r->rules.system_root);
        r->rules.system_root = strdup(o->system_root);
    }
    return 0;
}

static int finish(struct run *r, int nfiles)
{
    hunt_tree_finish(r->tree);
    if (hunt_output_finish(&r->out) < 0) {
        fprintf(stderr, "smss-hunt: writing the output failed: %s\n", strerror(errno));
        r->input_error = true;
    }
    /* The tree follows the findings in their format; CSV has no place for it: stderr. */
    if (r->tree_wanted && r->out.format == HUNT_OUT_JSONL)
        hunt_output_tree_jsonl(stdout, r->tree, &r->rules);
    else if (r->tree_wanted)
        hunt_output_tree(r->out.format == HUNT_OUT_CSV ? stderr : stdout, r->tree, &r->rules,
                         r->out.color);
    diags_print(&r->diags, STDERR_FILENO);
    size_t findings = hunt_output_total(&r->out);
    fprintf(stderr, "smss-hunt: %d input%s, %llu records read, %llu process records, "
            "%llu unreadable, %zu finding%s\n", nfiles, nfiles == 1 ? "" : "s",
            (unsigned long long)r->stats.records, (unsigned long long)r->stats.used,
            (unsigned long long)r->stats.bad, findings, findings == 1 ? "" : "s");
    if (hunt_tree_oom(r->tree))
        r->input_error = true;
    if (r->input_error || r->diags.errors)
        return 2;
    return findings ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct run r = {.diags = DIAGS_INIT};
    struct options o = {.format = HUNT_OUT_TABLE, .color = -1, .live.proc = "/proc"};
    if (parse_options(argc, argv, &o, &r) < 0) {
        fputs("Try 'smss-hunt --help'.\n", stderr);
        return 2;
    }
    if (o.print_rules) {
        size_t len;
        const char *t = hunt_default_rules(&len);
        fwrite(t, 1, len, stdout);
        return 0;
    }
    /* Options may come anywhere; "live" is the one word that is not a file. */
    bool live = optind < argc && !strcmp(argv[optind], "live");
    int first = live ? optind + 1 : optind;
    if (live && first < argc) {
        fprintf(stderr, "smss-hunt: live takes no inputs (got \"%s\")\n", argv[first]);
        return 2;
    }
    if (!live && first >= argc) {
        fputs("smss-hunt: no input given.\nTry 'smss-hunt --help'.\n", stderr);
        return 2;
    }
    if (load_rules(&r, &o) < 0) {
        diags_print(&r.diags, STDERR_FILENO);
        hunt_ruleset_free(&r.rules);
        diags_free(&r.diags);
        return 2;
    }
    bool color = o.color < 0 ? isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL : o.color;
    hunt_output_init(&r.out, o.format, stdout, color && o.format == HUNT_OUT_TABLE);
    struct hunt_tree_options to = {.os = live ? HUNT_OS_LINUX : (r.os ? r.os : HUNT_OS_ALL),
                                   .keep_all = r.tree_wanted, .smss_dir = o.live.smss_dir};
    r.tree = hunt_tree_new(&r.rules, &to, on_finding, &r);
    if (!r.tree) {
        fprintf(stderr, "smss-hunt: out of memory\n");
        return 2;
    }
    int nfiles = 0;
    if (live) {
        nfiles = 1;
        if (hunt_input_live(&o.live, r.tree, on_record, &r, &r.stats, &r.diags) < 0 ||
            audit_live_config(&r, &o.live, o.live_config) < 0)
            r.input_error = true;
    }
    for (int i = first; i < argc; i++, nfiles++)
        if (read_input(&r, argv[i], o.input_format) < 0)
            r.input_error = true;
    int status = finish(&r, nfiles);
    hunt_output_free(&r.out);
    hunt_tree_free(r.tree);
    hunt_ruleset_free(&r.rules);
    diags_free(&r.diags);
    return status;
}

/* core/client/main.c - the tged command: find a service, print its record.
 * SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <tged/client.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef TGED_VERSION
#error "TGED_VERSION must be defined by the build"
#endif

/* Exit codes. 64 and up follow sysexits.h, so that scripts can tell "you
 * called me wrong" from "the network said no". */
enum {
    EXIT_REPLY = 0,
    EXIT_INVALID = 1,
    EXIT_NO_ANSWER = 2,
    EXIT_USAGE = 64,
    EXIT_UNAVAILABLE = 69,
    EXIT_OSERR = 71,
    EXIT_IOERR = 74,
    EXIT_CONFIG = 78,
};

enum format { FMT_TEXT, FMT_JSON, FMT_ENV };

struct printer {
    enum format fmt;
    int all;
    size_t count;
    char reason[TGED_MAX_VALUE + 1]; /* of the INVALID answer, if one */
};

static const char usage_text[] =
    "Usage: tged [options] TYPE [FIELD=VALUE ...]\n"
    "       tged --stats | --status | --reload [--control PATH]\n"
    "Ask the local network where the service of type TYPE is (TGED 1.0\n"
    "discovery) and print the answer. Each FIELD=VALUE is a filter: only\n"
    "records that have FIELD with this value (compared case-insensitively)\n"
    "match, e.g. `tged LEASE HOST=mypc`.\n"
    "\n"
    "Options:\n"
    "  -s, --server ADDR[:PORT]  send to ADDR (a responder, a subnet\n"
    "                            broadcast or a multicast group) instead\n"
    "                            of broadcasting to 255.255.255.255:4745.\n"
    "                            IPv6: [ADDR6]:PORT, ADDR6, ADDR6%IFNAME\n"
    "                            (e.g. ff02::4745%eth0). Numeric addresses\n"
    "                            only, no host names.\n"
    "  -a, --all                 collect every answer until the timeout\n"
    "                            instead of stopping at the first REPLY\n"
    "  -t, --timeout SECONDS     how long to wait; decimals allowed, e.g.\n"
    "                            0.5 (default 2)\n"
    "  -i, --id ID               the request's ID, 1-64 visible ASCII\n"
    "                            characters (default: 16 random hex digits)\n"
    "  -k, --key KEYFILE         sign the request with a key of KEYFILE\n"
    "                            (keys = ( { id = ...; secret = ...; } );)\n"
    "                            and take only answers signed with it:\n"
    "                            a forged answer from another host is\n"
    "                            ignored. The first key of the file, or:\n"
    "  -K, --key-id ID           the key of KEYFILE with this id\n"
    "      --auth-window SECONDS how far a signed answer's time may be\n"
    "                            from this host's clock (default 30)\n"
    "      --json                print JSON\n"
    "      --env                 print shell assignments, for eval\n"
    "      --stats               print the counters of the local tgedd\n"
    "      --status              print the state of its backends\n"
    "      --reload              make it reload its configuration\n"
    "      --control PATH        its control socket (default\n"
    "                            /run/tged/control)\n"
    "  -h, --help                print this help and exit\n"
    "  -V, --version             print the version and exit\n"
    "\n"
    "Output (on stdout; names in upper case; the answer's ID left out):\n"
    "  default  each header as `NAME: value`, then `SVR: ADDRESS`, the\n"
    "           address the answer came from; with -a, answers are\n"
    "           separated by an empty line\n"
    "  --json   one object per answer, keys in the order received, then\n"
    "           \"SVR\", e.g. "
    "{\"RQ\":\"SQL\",\"HOST\":\"db\",\"SVR\":\"10.0.0.2\"};\n"
    "           with -a, an array of them ([] when nothing came)\n"
    "  --env    TGED_NAME='value' lines ('-' in a name becomes '_'), then\n"
    "           TGED_SVR; with -a, TGED_0_NAME=..., TGED_1_NAME=... and\n"
    "           TGED_COUNT=N (0 when nothing came)\n"
    "An INVALID answer is printed the same way, and its REASON goes to\n"
    "stderr.\n"
    "\n"
    "Exit status:\n"
    "  0   a REPLY came\n"
    "  1   only INVALID answers came (unknown type, no match, ...)\n"
    "  2   no answer within the timeout (with -k: no correctly signed\n"
    "      answer; stderr counts those ignored)\n"
    "  64  usage error (bad option, TYPE, FIELD=VALUE, ID or address)\n"
    "  69  --stats, --status, --reload: no tgedd on the control socket\n"
    "  71  the request could not be sent (no route, no such interface...)\n"
    "  74  the output could not be written\n"
    "  78  -k: the key file cannot be read or is not valid, or has no key\n"
    "      of that id\n"
    "\n"
    "Examples:\n"
    "  tged SQL\n"
    "  tged -a -t 0.5 --json SQL\n"
    "  tged -s 192.168.0.10:4745 LEASE HOST=mypc\n"
    "  tged -s ff02::4745%eth0 SQL\n"
    "  tged -k /etc/tged/client.keys -K office SQL\n"
    "  eval \"$(tged --env SQL)\"; echo \"$TGED_HOST:$TGED_PORT\"\n";

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("tged: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'tged -h' for more information.\n", stderr);
    exit(EXIT_USAGE);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* Headers the command prints itself, or not at all: SVR is the address the
 * datagram came from, whatever a responder may claim; ID is ours. */
static int skipped(const char *name)
{
    size_t len = strlen(name);

    return tged_name_eq(name, len, "ID", 2) ||
           tged_name_eq(name, len, "SVR", 3);
}

/* Names compare case-insensitively; scripts should not have to care how a
 * responder spelled them. */
static void put_name(const char *name, int env)
{
    for (const char *p = name; *p; p++) {
        char c = *p;

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (env && !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            c = '_';
        putchar(c);
    }
}

static void put_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p); /* bytes above 0x7f pass as they are */
    }
    putchar('"');
}

static void put_json_key(const char *name)
{
    putchar('"');
    put_name(name, 0);
    putchar('"');
}

static void put_shell_value(const char *s)
{
    putchar('\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    putchar('\'');
}

static void print_text(const struct tged_answer *a)
{
    for (size_t i = 0; i < a->nfields; i++) {
        if (skipped(a->fields[i].name))
            continue;
        put_name(a->fields[i].name, 0);
        printf(": %s\n", a->fields[i].value);
    }
    printf("SVR: %s\n", a->svr);
}

static void print_json(const struct tged_answer *a)
{
    putchar('{');
    for (size_t i = 0; i < a->nfields; i++) {
        if (skipped(a->fields[i].name))
            continue;
        put_json_key(a->fields[i].name);
        putchar(':');
        put_json_string(a->fields[i].value);
        putchar(',');
    }
    fputs("\"SVR\":", stdout);
    put_json_string(a->svr);
    putchar('}');
}

static void print_env(const struct tged_answer *a, const char *prefix)
{
    for (size_t i = 0; i < a->nfields; i++) {
        if (skipped(a->fields[i].name))
            continue;
        fputs(prefix, stdout);
        put_name(a->fields[i].name, 1);
        putchar('=');
        put_shell_value(a->fields[i].value);
        putchar('\n');
    }
    printf("%sSVR=", prefix);
    put_shell_value(a->svr);
    putchar('\n');
}

/* Answers are printed as they come, so that -a shows them live. */
static int print_answer(const struct tged_answer *a, void *arg)
{
    struct printer *p = arg;
    char prefix[32];

    if (a->invalid) {
        const char *r = tged_answer_get(a, "REASON");

        snprintf(p->reason, sizeof(p->reason), "%s", r && *r ? r : "invalid");
    }
    switch (p->fmt) {
    case FMT_TEXT:
        if (p->count)
            putchar('\n');
        print_text(a);
        break;
    case FMT_JSON:
        if (p->all)
            fputs(p->count ? ",\n  " : "[\n  ", stdout);
        print_json(a);
        if (!p->all)
            putchar('\n');
        break;
    case FMT_ENV:
        if (p->all)
            snprintf(prefix, sizeof(prefix), "TGED_%zu_", p->count);
        else
            snprintf(prefix, sizeof(prefix), "TGED_");
        print_env(a, prefix);
        break;
    }
    p->count++;
    fflush(stdout);
    return 0;
}

static void print_end(const struct printer *p)
{
    if (!p->all)
        return;
    if (p->fmt == FMT_JSON)
        fputs(p->count ? "\n]\n" : "[]\n", stdout);
    else if (p->fmt == FMT_ENV)
        printf("TGED_COUNT=%zu\n", p->count);
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */

static unsigned parse_timeout(const char *arg, double *secs)
{
    char *end;
    double v;
    unsigned ms;

    errno = 0;
    v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v <= 0)
        usage_error("-t '%s': expected a number of seconds above 0, "
                    "e.g. 2 or 0.5",
                    arg);
    if (v * 1000.0 > (double)UINT_MAX)
        usage_error("-t '%s': too long a wait", arg);
    *secs = v;
    /* Rounded up, so that 0.0001 still waits; no libm for one ceil(). */
    ms = (unsigned)(v * 1000.0);
    if ((double)ms < v * 1000.0)
        ms++;
    return ms;
}

static void parse_filter(char *arg, struct tged_kv *kv)
{
    char *eq = strchr(arg, '=');
    size_t nlen, vlen;

    if (!eq || eq == arg)
        usage_error("'%s': expected FIELD=VALUE", arg);
    *eq = '\0';
    kv->name = arg;
    kv->value = eq + 1;
    nlen = strlen(kv->name);
    vlen = strlen(kv->value);
    if (!tged_name_valid(kv->name, nlen))
        usage_error("'%s': not a field name (1-32 of A-Z a-z 0-9 - _)",
                    kv->name);
    if (tged_name_reserved(kv->name, nlen))
        usage_error("'%s': a reserved name, not a record field%s", kv->name,
                    tged_name_eq(kv->name, nlen, "ID", 2)
                        ? " (use -i to set the ID)"
                        : "");
    if (!tged_value_valid(kv->value, vlen))
        usage_error("the value of %s is not valid: at most 255 bytes, no "
                    "control characters but tab, no white space at either "
                    "end",
                    kv->name);
}

/* The request as tged_discover() writes it, to say "too long" before the
 * library can only say "invalid". */
static size_t request_size(const char *type, const char *id,
                           const struct tged_kv *kv, size_t n,
                           const struct tged_key *key)
{
    size_t len = strlen("TGED DISCOVERY 1.0\r\n") + strlen("\r\n");

    /* The AUTH line, with a time of ten digits; it replaces the empty
     * line's place in the count above. */
    if (key)
        len += tged_auth_size(key, 9999999999LL) - strlen("\r\n");
    len += strlen("RQ: \r\n") + strlen(type);
    len += strlen("ID: \r\n") + (id ? strlen(id) : 16);
    for (size_t i = 0; i < n; i++)
        len += strlen(kv[i].name) + strlen(": \r\n") + strlen(kv[i].value);
    return len;
}

/* Send one command to tgedd's control socket and copy the answer to
 * stdout; an exit status. */
static int control(const char *path, const char *cmd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        usage_error("--control '%s': path too long", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr,
                "tged: %s: %s (is tgedd running, and is this its "
                "control socket?)\n",
                path, strerror(errno));
        return EXIT_UNAVAILABLE;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    if (write(fd, line, (size_t)n) != n) {
        fprintf(stderr, "tged: %s: %s\n", path, strerror(errno));
        close(fd);
        return EXIT_UNAVAILABLE;
    }
    char buf[4096];
    ssize_t k;
    int failed = 0;
    while ((k = read(fd, buf, sizeof(buf))) > 0) {
        if (!strncmp(buf, "error", 5) || !strncmp(buf, "reload failed", 13))
            failed = 1;
        fwrite(buf, 1, (size_t)k, stdout);
    }
    close(fd);
    if (fflush(stdout))
        return EXIT_IOERR;
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    enum {
        OPT_JSON = 256,
        OPT_ENV,
        OPT_STATS,
        OPT_STATUS,
        OPT_RELOAD,
        OPT_CONTROL,
        OPT_AUTH_WINDOW
    };
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"all", no_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 't'},
        {"id", required_argument, NULL, 'i'},
        {"key", required_argument, NULL, 'k'},
        {"key-id", required_argument, NULL, 'K'},
        {"auth-window", required_argument, NULL, OPT_AUTH_WINDOW},
        {"json", no_argument, NULL, OPT_JSON},
        {"env", no_argument, NULL, OPT_ENV},
        {"stats", no_argument, NULL, OPT_STATS},
        {"status", no_argument, NULL, OPT_STATUS},
        {"reload", no_argument, NULL, OPT_RELOAD},
        {"control", required_argument, NULL, OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct tged_client_options opts = {0};
    struct printer pr = {.fmt = FMT_TEXT};
    struct tged_kv *filters = NULL;
    size_t nfilters;
    double secs = 2;
    const char *type;
    int c, rc, json = 0, env = 0, status;
    const char *ctl_cmd = NULL, *ctl_path = "/run/tged/control";
    const char *keyfile = NULL, *key_id = NULL;
    struct tged_key key;
    unsigned auth_dropped = 0;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:at:i:k:K:hV", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 's':
            opts.server = optarg;
            break;
        case 'a':
            opts.all = 1;
            break;
        case 't':
            opts.timeout_ms = parse_timeout(optarg, &secs);
            break;
        case 'i':
            if (!tged_id_valid(optarg, strlen(optarg)))
                usage_error("-i '%s': an ID is 1-64 visible ASCII "
                            "characters",
                            optarg);
            opts.id = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'K':
            if (!tged_auth_key_id_valid(optarg, strlen(optarg)))
                usage_error("-K '%s': a key id is 1-32 of A-Z a-z 0-9 . _ -",
                            optarg);
            key_id = optarg;
            break;
        case OPT_AUTH_WINDOW: {
            char *end;
            unsigned long v;

            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 3600 ||
                optarg[0] == '-')
                usage_error("--auth-window '%s': expected whole seconds, 1 "
                            "to 3600",
                            optarg);
            opts.auth_window = (unsigned)v;
            break;
        }
        case OPT_JSON:
            json = 1;
            break;
        case OPT_ENV:
            env = 1;
            break;
        case OPT_STATS:
            ctl_cmd = "stats";
            break;
        case OPT_STATUS:
            ctl_cmd = "status";
            break;
        case OPT_RELOAD:
            ctl_cmd = "reload";
            break;
        case OPT_CONTROL:
            ctl_path = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return fflush(stdout) ? EXIT_IOERR : 0;
        case 'V':
            puts("tged " TGED_VERSION);
            return fflush(stdout) ? EXIT_IOERR : 0;
        case ':':
            usage_error("option '%s' needs a value", argv[optind - 1]);
        default: {
            const char *bad = argv[optind - 1];

            /* getopt_long() leaves a bad long option in argv, and sets
             * optopt (not a char) only when it was given a value it does
             * not take. */
            if (strncmp(bad, "--", 2) != 0)
                usage_error("unknown option '-%c'", optopt);
            if (optopt)
                usage_error("option '%.*s' takes no value",
                            (int)strcspn(bad, "="), bad);
            usage_error("unknown option '%s'", bad);
        }
        }
    }
    if (ctl_cmd) {
        if (optind < argc)
            usage_error("--%s takes no TYPE", ctl_cmd);
        return control(ctl_path, ctl_cmd);
    }
    if (json && env)
        usage_error("--json and --env cannot be used together");
    if (key_id && !keyfile)
        usage_error("-K names a key of the file that -k gives: -k is missing");
    if (opts.auth_window && !keyfile)
        usage_error("--auth-window is for signed requests: -k is missing");
    pr.fmt = json ? FMT_JSON : env ? FMT_ENV : FMT_TEXT;
    pr.all = opts.all;

    if (optind >= argc)
        usage_error("missing TYPE, the service to look for");
    type = argv[optind++];
    if (!tged_type_valid(type, strlen(type)))
        usage_error("'%s': not a service type (1-63 of A-Z a-z 0-9 . _ -)",
                    type);

    nfilters = (size_t)(argc - optind);
    /* RQ and ID take two header lines of a request, AUTH a third. */
    int max_filters = TGED_MAX_REQUEST_HEADERS - (keyfile ? 3 : 2);
    if (nfilters > (size_t)max_filters)
        usage_error("too many filters: at most %d", max_filters);
    if (nfilters) {
        filters = calloc(nfilters, sizeof(*filters));
        if (!filters) {
            perror("tged");
            return EXIT_OSERR;
        }
    }
    for (size_t i = 0; i < nfilters; i++) {
        parse_filter(argv[optind + (int)i], &filters[i]);
        for (size_t j = 0; j < i; j++)
            if (tged_name_eq(filters[j].name, strlen(filters[j].name),
                             filters[i].name, strlen(filters[i].name)))
                usage_error("%s is given twice", filters[i].name);
    }
    if (keyfile) {
        char msg[1024];
        int krc = tged_key_load(keyfile, key_id, &key, msg, sizeof(msg));

        if (krc < 0) {
            fprintf(stderr, "tged: %s\n", msg);
            free(filters);
            return EXIT_CONFIG;
        }
        if (msg[0])
            fprintf(stderr, "tged: warning: %s\n", msg);
        opts.key = &key;
        opts.auth_dropped = &auth_dropped;
    }
    if (request_size(type, opts.id, filters, nfilters, opts.key) >
        TGED_MAX_REQUEST)
        usage_error("the request would be longer than %d bytes",
                    TGED_MAX_REQUEST);

    rc = tged_discover(type, filters, nfilters, &opts, print_answer, &pr);
    if (opts.key)
        tged_key_wipe(&key);
    if (rc >= 0)
        print_end(&pr);
    switch (rc) {
    case TGED_CLIENT_REPLY:
        status = EXIT_REPLY;
        break;
    case TGED_CLIENT_INVALID:
        fprintf(stderr, "tged: %s: %s\n", type,
                pr.reason[0] ? pr.reason : "invalid");
        status = EXIT_INVALID;
        break;
    case TGED_CLIENT_TIMEOUT:
        if (auth_dropped)
            fprintf(stderr,
                    "tged: %s: no correctly signed answer within %g s (%u "
                    "answer%s ignored: unsigned, or not signed with this "
                    "key for this request)\n",
                    type, secs, auth_dropped, auth_dropped == 1 ? "" : "s");
        else
            fprintf(stderr, "tged: %s: no answer within %g s\n", type, secs);
        status = EXIT_NO_ANSWER;
        break;
    case -EINVAL:
        /* Everything else was checked above: only the address is left. */
        usage_error("'%s': not a server address (ADDR[:PORT], "
                    "[ADDR6]:PORT, ADDR6 or ADDR6%%IFNAME)",
                    opts.server ? opts.server : "");
    default:
        fprintf(stderr, "tged: %s: cannot ask: %s\n", type, strerror(-rc));
        status = EXIT_OSERR;
        break;
    }
    free(filters);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tged: cannot write the output: %s\n", strerror(errno));
        return EXIT_IOERR;
    }
    return status;
}

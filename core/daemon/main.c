/* core/daemon/main.c - tgedd: options, start-up, daemonizing.
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "loader.h"
#include "log.h"
#include "privdrop.h"
#include "qsbr.h"
#include "snapshot.h"
#include "watch.h"

#ifndef TGED_DEFAULT_CONFIG
#define TGED_DEFAULT_CONFIG "/etc/tged/tged.conf"
#endif

/* Exit codes (sysexits.h), documented in tgedd(8). */
#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define EXIT_OSERR 71

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tgedd [-f] [-d] [-c FILE]\n"
            "       tgedd -t [-c FILE]\n"
            "       tgedd --check-plugin FILE.so\n"
            "Answer TGED service-discovery requests (UDP port 4745).\n"
            "\n"
            "  -c, --config FILE   configuration file (default %s)\n"
            "  -t, --test          check the configuration: read it, load "
            "every plugin,\n"
            "                      start every backend (reading its data), "
            "then exit\n"
            "                      0 when good, %d with the reasons on "
            "stderr\n"
            "  -f, --foreground    stay in the foreground and log to stderr\n"
            "  -d, --debug         log debug messages too\n"
            "      --check-plugin FILE\n"
            "                      tell what is wrong with a plugin's shared "
            "object, or\n"
            "                      show its name, version and settings\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Signals: SIGHUP reloads the configuration and all data (a bad "
            "one is\n"
            "reported and the running one keeps serving); SIGTERM or SIGINT "
            "stop;\n"
            "SIGUSR1 logs the counters.\n"
            "Exit codes: 0 stopped cleanly or configuration good; 64 usage; "
            "71 a socket\n"
            "or system call failed; 78 configuration error.\n"
            "Plugins: %s (unless the configuration sets plugin_dir).\n",
            TGED_DEFAULT_CONFIG, EXIT_CONFIG, loader_default_dir());
}

/* Fork into the background; the parent exits once the child is serving
 * (0) or has failed (its exit code), so an init script sees the truth. */
static int daemonize(int *ready_fd)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        /* The child writes 0 once serving; if it fails first, its exit
         * status is the parent's. */
        close(p[1]);
        char c;
        ssize_t n = read(p[0], &c, 1);
        if (n == 1)
            _exit(0);
        int st;
        if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
            _exit(WEXITSTATUS(st));
        _exit(EXIT_OSERR);
    }
    close(p[0]);
    setsid();
    if (chdir("/") != 0)
        return -1;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    *ready_fd = p[1];
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test", no_argument, NULL, 't'},
        {"foreground", no_argument, NULL, 'f'},
        {"debug", no_argument, NULL, 'd'},
        {"check-plugin", required_argument, NULL, 'P'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *config = TGED_DEFAULT_CONFIG;
    int test = 0, fg = 0, debug = 0, c;
    while ((c = getopt_long(argc, argv, "c:tfdVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'f':
            fg = 1;
            break;
        case 'd':
            debug = 1;
            break;
        case 'P':
            return loader_check_file(optarg) == 0 ? 0 : EXIT_CONFIG;
        case 'V':
            printf("tgedd %s (plugin ABI %d)\n", TGED_VERSION, TGED_PLUGIN_ABI);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'tgedd -h' for help.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "tgedd: unexpected argument '%s'\nTry 'tgedd -h' "
                "for help.\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    /* Under systemd (NOTIFY_SOCKET) stay in the foreground but log to the
     * journal through syslog. */
    int to_stderr = fg || test;
    log_open(to_stderr, debug ? LOG_DEBUG : LOG_INFO);

    /* Threads that plugins start inherit this: signals go to the control
     * thread's signalfd only. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    /* A backend writing to a pipe or socket whose reader is gone (in its
     * init() too, and under -t) gets EPIPE, not a dead tgedd. */
    signal(SIGPIPE, SIG_IGN);

    char path[PATH_MAX];
    if (!realpath(config, path)) {
        log_err("%s: cannot read the configuration: %s", config,
                strerror(errno));
        return EXIT_CONFIG;
    }
    if (test) {
        struct snapshot *s = snapshot_load(path, 0);
        int ok = s != NULL;
        snapshot_free(s);
        qsbr_reclaim(1);
        if (ok)
            fprintf(stderr, "tgedd: %s: configuration is good\n", path);
        return ok ? 0 : EXIT_CONFIG;
    }

    int ready_fd = -1;
    if (!fg && !getenv("NOTIFY_SOCKET") && daemonize(&ready_fd) != 0) {
        log_err("cannot go into the background: %s", strerror(errno));
        return EXIT_OSERR;
    }
    if (watch_init() < 0)
        log_warn("inotify is not available: files will not be watched");
    struct snapshot *s = snapshot_load(path, 1);
    if (!s) {
        log_err("%s: not starting: the configuration has errors", path);
        return EXIT_CONFIG;
    }
    if (s->set.log_level >= 0 && !debug)
        log_set_level(s->set.log_level);
    if (privdrop_refuses_root(&s->set)) {
        snapshot_free(s);
        qsbr_reclaim(1);
        return EXIT_CONFIG;
    }
    struct control_opts o = {
        .config_path = path, .ready_fd = ready_fd, .debug = debug};
    int code = control_run(&o, s);
    log_close();
    return code;
}

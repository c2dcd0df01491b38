/* core/daemon/control.c - the control thread: signals, reloads, watches.
 *
 * Signals arrive on a signalfd, plugins' reload requests and retirements
 * on an eventfd, file changes on inotify: one epoll loop handles them all,
 * and sleeps until the next timer (a debounced reload, a folder to look
 * for again, memory to reclaim) or the next event. Nothing polls.
 *
 * SPDX-License-Identifier: MIT
 */
#include "control.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
#define sd_notify(unset, state) ((void)0)
#define sd_notifyf(unset, ...) ((void)0)
#endif

#include "ctl.h"
#include "iftable.h"
#include "keys.h"
#include "log.h"
#include "privdrop.h"
#include "qsbr.h"
#include "snapshot.h"
#include "udp.h"
#include "watch.h"
#include "worker.h"

/* sysexits.h values, documented in tgedd(8). */
#define EXIT_OSERR 71

static int wake_fd = -1;

static void wake(void)
{
    uint64_t one = 1;
    if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0 &&
        errno != EAGAIN)
        log_err("cannot wake the control loop: %s", strerror(errno));
}

struct control {
    const struct control_opts *o;
    struct snapshot *cur;
    struct worker **workers;
    unsigned nworkers;
    int sigfd, epfd, ifd, ctlfd, nlfd;
    char *ctl_path;
    /* Worker 0's IPv6 sockets, which join ff02::4745 on new interfaces. */
    int *mc_fds;
    struct listen_addr *mc_la;
    size_t nmc;
};

static int same_listen(const struct settings *a, const struct settings *b)
{
    if (a->nlisten != b->nlisten || a->workers != b->workers ||
        strcmp(a->control ? a->control : "", b->control ? b->control : "") ||
        strcmp(a->user ? a->user : "", b->user ? b->user : ""))
        return 0;
    for (size_t i = 0; i < a->nlisten; i++)
        if (strcmp(a->listen[i], b->listen[i]))
            return 0;
    return 1;
}

/* Loading data allocates far more (parse trees, builders) than it keeps,
 * and the allocator holds on to what was freed: give the free pages back
 * once a load is over and the old data is gone, so the resident size is
 * what is served, not what reading it once took. */
static uint64_t loads; /* configuration reloads */

static void give_back_memory(uint64_t *seen)
{
    uint64_t freed = qsbr_freed() + loads;
    if (*seen == freed)
        return;
    *seen = freed;
    malloc_trim(0);
}

static void reload(struct control *c)
{
    log_notice("reloading %s", c->o->config_path);
    loads++;
    sd_notify(0, "RELOADING=1");
    struct snapshot *n = snapshot_load(c->o->config_path, 1);
    if (!n) {
        log_err("reload failed: the configuration above has errors; the "
                "running configuration keeps serving");
        sd_notify(0, "READY=1\nSTATUS=reload failed: the configuration has "
                     "errors (see the log); the previous one keeps serving");
        return;
    }
    if (!same_listen(&c->cur->set, &n->set))
        log_warn("responder.listen, workers, control or user changed: "
                 "restart tgedd to apply that; the sockets stay as they are");
    if (n->set.log_level >= 0 && !c->o->debug)
        log_set_level(n->set.log_level);
    struct snapshot *old = c->cur;
    c->cur = n;
    __atomic_store_n(&worker_snapshot, n, __ATOMIC_SEQ_CST);
    qsbr_retire(old, snapshot_free);
    log_notice("reloaded: %zu backend%s", n->nbackends,
               n->nbackends == 1 ? "" : "s");
    sd_notifyf(0, "READY=1\nSTATUS=serving with %zu backend%s", n->nbackends,
               n->nbackends == 1 ? "" : "s");
}

/* Append printf output to a buffer, never past its end. */
static void put(char *out, size_t cap, size_t *at, const char *fmt, ...)
    TGED_PRINTF(4, 5);
static void put(char *out, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (n > 0)
        *at += (size_t)n;
}

/* The counters as "name value" lines. */
static void format_stats(struct control *c, char *out, size_t cap)
{
    struct worker_stats st;
    memset(&st, 0, sizeof(st));
    for (unsigned i = 0; i < c->nworkers; i++)
        worker_stats_add(c->workers[i], &st);
    size_t at = 0;
    unsigned long long dropped = st.not_tged + st.not_request + st.port_zero;
    put(out, cap, &at,
        "received %llu\nanswered %llu\nreplies %llu\n"
        "invalid.bad-request %llu\ninvalid.version %llu\n"
        "invalid.unknown-type %llu\ninvalid.no-match %llu\n"
        "invalid.unavailable %llu\n"
        "dropped %llu\ndropped.not-tged %llu\ndropped.not-request %llu\n"
        "dropped.port-0 %llu\nsilent.unknown-type %llu\n"
        "send-errors %llu\n"
        "refused.acl %llu\nrefused.off-link %llu\nrefused.route %llu\n"
        "refused.rate %llu\nrefused.bytes %llu\n",
        (unsigned long long)st.received, (unsigned long long)st.answered,
        (unsigned long long)st.replies, (unsigned long long)st.invalid[0],
        (unsigned long long)st.invalid[1], (unsigned long long)st.invalid[2],
        (unsigned long long)st.invalid[3], (unsigned long long)st.invalid[4],
        dropped, (unsigned long long)st.not_tged,
        (unsigned long long)st.not_request, (unsigned long long)st.port_zero,
        (unsigned long long)st.unknown_quiet,
        (unsigned long long)st.send_errors, (unsigned long long)st.refused,
        (unsigned long long)st.off_link, (unsigned long long)st.refused_route,
        (unsigned long long)st.rate_limited,
        (unsigned long long)st.bytes_limited);
    put(out, cap, &at, "auth.verified %llu\n",
        (unsigned long long)__atomic_load_n(&auth_stats.verified,
                                            __ATOMIC_RELAXED));
    for (int r = AUTH_BAD; r < AUTH_NREFUSALS; r++)
        put(out, cap, &at, "auth.refused.%s %llu\n", auth_refusal_name(r),
            (unsigned long long)__atomic_load_n(&auth_stats.refused[r],
                                                __ATOMIC_RELAXED));
    put(out, cap, &at, "auth.skipped %llu\n",
        (unsigned long long)__atomic_load_n(&auth_stats.skipped,
                                            __ATOMIC_RELAXED));
    for (size_t i = 0; i < c->cur->nbackends; i++) {
        const struct tged_instance *b = c->cur->backends[i];
        const struct backend_stats *s = &b->stats;
        uint64_t timed = __atomic_load_n(&s->timed, __ATOMIC_RELAXED);
        uint64_t ns = __atomic_load_n(&s->timed_ns, __ATOMIC_RELAXED);
        put(out, cap, &at,
            "backend.%s.lookups %llu\nbackend.%s.found %llu\n"
            "backend.%s.no-match %llu\nbackend.%s.not-mine %llu\n"
            "backend.%s.failed %llu\nbackend.%s.latency-us %.1f\n"
            "backend.%s.reloads %llu\nbackend.%s.reload-errors %llu\n",
            b->name, (unsigned long long)s->lookups, b->name,
            (unsigned long long)s->found, b->name,
            (unsigned long long)s->no_match, b->name,
            (unsigned long long)s->not_mine, b->name,
            (unsigned long long)s->failed, b->name,
            timed ? (double)ns / (double)timed / 1000.0 : 0.0, b->name,
            (unsigned long long)s->reloads, b->name,
            (unsigned long long)s->reload_errors);
    }
}

static void log_stats(struct control *c)
{
    static char buf[65536];
    format_stats(c, buf, sizeof(buf));
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        log_notice("stats: %s", line);
}

/* One line per backend: its module, what it did last, its data changes. */
static void format_status(struct control *c, char *out, size_t cap)
{
    size_t at = 0;
    uint64_t now = now_ms();
    put(out, cap, &at, "config %s\nbackends %zu\nworkers %u\n",
        c->o->config_path, c->cur->nbackends, c->nworkers);
    for (size_t i = 0; i < c->cur->nbackends; i++) {
        const struct tged_instance *b = c->cur->backends[i];
        const struct backend_stats *s = &b->stats;
        const char *state = "ok";
        if (s->last_error_ms && s->last_error_ms == s->last_reload_ms)
            state = "stale: the last reload failed, older data serving";
        put(out, cap, &at, "backend %s module=%s data-changes=%llu", b->name,
            b->mod->name, (unsigned long long)s->publishes);
        if (s->last_reload_ms)
            put(out, cap, &at, " last-reload=%llus-ago",
                (unsigned long long)((now - s->last_reload_ms) / 1000));
        put(out, cap, &at, " state=%s\n", state);
    }
}

static void reload(struct control *c);

static void answer(const char *cmd, char *out, size_t cap, void *arg)
{
    struct control *c = arg;
    if (!strcmp(cmd, "stats"))
        format_stats(c, out, cap);
    else if (!strcmp(cmd, "status"))
        format_status(c, out, cap);
    else if (!strcmp(cmd, "reload")) {
        struct snapshot *before = c->cur;
        reload(c);
        snprintf(out, cap, "%s\n",
                 c->cur != before ? "reloaded"
                                  : "reload failed: see the log; the running "
                                    "configuration keeps serving");
    } else
        snprintf(out, cap,
                 "error: unknown command '%.40s' (stats, status, "
                 "reload)\n",
                 cmd);
}

/* Run the reloads that are due; the next due time, 0 for none. */
static uint64_t run_reloads(struct control *c, uint64_t now)
{
    uint64_t next = 0;
    for (size_t i = 0; i < c->cur->nbackends; i++) {
        struct tged_instance *b = c->cur->backends[i];
        uint64_t due = __atomic_load_n(&b->reload_due_ms, __ATOMIC_ACQUIRE);
        if (!due)
            continue;
        if (due <= now) {
            __atomic_store_n(&b->reload_due_ms, 0, __ATOMIC_RELEASE);
            instance_reload(b);
            /* A request made during the reload is kept for later. */
            due = __atomic_load_n(&b->reload_due_ms, __ATOMIC_ACQUIRE);
            if (!due)
                continue;
        }
        if (!next || due < next)
            next = due;
    }
    return next;
}

static int open_sockets(struct control *c)
{
    const struct settings *set = &c->cur->set;
    c->workers = calloc(set->workers, sizeof(*c->workers));
    int *fds = calloc(set->nlisten, sizeof(int));
    int *fams = calloc(set->nlisten, sizeof(int));
    if (!c->workers || !fds || !fams)
        goto fail;
    for (unsigned w = 0; w < set->workers; w++) {
        for (size_t i = 0; i < set->nlisten; i++) {
            struct listen_addr la;
            udp_parse_listen(set->listen[i], &la);
            fds[i] = udp_open(&la, set->workers > 1, w == 0);
            fams[i] = la.family;
            if (fds[i] < 0) {
                while (i-- > 0)
                    close(fds[i]);
                goto fail;
            }
            if (w == 0 && la.family == AF_INET6) {
                int *nf = realloc(c->mc_fds, (c->nmc + 1) * sizeof(int));
                struct listen_addr *nl =
                    realloc(c->mc_la, (c->nmc + 1) * sizeof(*nl));
                if (nf)
                    c->mc_fds = nf;
                if (nl)
                    c->mc_la = nl;
                if (nf && nl) {
                    c->mc_fds[c->nmc] = fds[i];
                    c->mc_la[c->nmc++] = la;
                }
            }
            if (w == 0)
                log_info("listening on %s", la.text);
        }
        c->workers[w] = worker_start(w, fds, fams, set->nlisten);
        if (!c->workers[w])
            goto fail;
        c->nworkers++;
    }
    free(fds);
    free(fams);
    return 0;
fail:
    free(fds);
    free(fams);
    return -1;
}

int control_run(const struct control_opts *o, struct snapshot *s)
{
    /* The backends have read their data: give back what reading took
     * before the first request can be answered. */
    malloc_trim(0);
    struct control c = {
        .o = o, .cur = s, .sigfd = -1, .epfd = -1, .ctlfd = -1, .nlfd = -1};
    int code = 0;
    __atomic_store_n(&worker_snapshot, s, __ATOMIC_SEQ_CST);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    c.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c.epfd = epoll_create1(EPOLL_CLOEXEC);
    c.ifd = watch_init();
    if (c.sigfd < 0 || wake_fd < 0 || c.epfd < 0) {
        log_err("cannot set up the control loop: %s", strerror(errno));
        code = EXIT_OSERR;
        goto out;
    }
    qsbr_set_notify(wake);
    host_set_wakeup(wake);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = c.sigfd;
    epoll_ctl(c.epfd, EPOLL_CTL_ADD, c.sigfd, &ev);
    ev.data.fd = wake_fd;
    epoll_ctl(c.epfd, EPOLL_CTL_ADD, wake_fd, &ev);
    if (c.ifd >= 0) {
        ev.data.fd = c.ifd;
        epoll_ctl(c.epfd, EPOLL_CTL_ADD, c.ifd, &ev);
    }

    c.nlfd = iftable_init();
    if (c.nlfd >= 0) {
        ev.data.fd = c.nlfd;
        epoll_ctl(c.epfd, EPOLL_CTL_ADD, c.nlfd, &ev);
    } else {
        log_warn("no netlink notices (%s): interfaces that come up later "
                 "are not seen until a restart",
                 strerror(-c.nlfd));
    }
    if (open_sockets(&c)) {
        code = EXIT_OSERR;
        goto out;
    }
    if (s->set.control && s->set.control[0]) {
        c.ctl_path = strdup(s->set.control);
        c.ctlfd = c.ctl_path ? ctl_listen(c.ctl_path) : -1;
        if (c.ctlfd >= 0) {
            ev.data.fd = c.ctlfd;
            epoll_ctl(c.epfd, EPOLL_CTL_ADD, c.ctlfd, &ev);
            log_info("control socket %s", c.ctl_path);
        }
    }
    /* Everything that needs root is open: the sockets, the control
     * socket, what the backends opened at start-up. */
    if (privdrop_apply(&s->set)) {
        code = EXIT_OSERR;
        goto out;
    }
    log_notice("serving with %zu backend%s, %u worker%s", s->nbackends,
               s->nbackends == 1 ? "" : "s", c.nworkers,
               c.nworkers == 1 ? "" : "s");
    sd_notifyf(0, "READY=1\nSTATUS=serving with %zu backend%s\nMAINPID=%lu",
               s->nbackends, s->nbackends == 1 ? "" : "s",
               (unsigned long)getpid());
    if (o->ready_fd >= 0) {
        char ok = 0;
        if (write(o->ready_fd, &ok, 1) < 0)
            log_warn("cannot tell the parent we are ready: %s",
                     strerror(errno));
        close(o->ready_fd);
    }

    uint64_t trimmed = qsbr_freed() + loads;
    for (int running = 1; running;) {
        uint64_t now = now_ms();
        uint64_t next = run_reloads(&c, now);
        uint64_t retry = watch_tick(now);
        if (retry && (!next || retry < next))
            next = retry;
        if (qsbr_reclaim(0)) {
            if (!next || now + 2 < next)
                next = now + 2;
        } else {
            give_back_memory(&trimmed);
        }
        int timeout = -1;
        if (next)
            timeout = next > now ? (int)(next - now) : 0;
        struct epoll_event evs[4];
        int n = epoll_wait(c.epfd, evs, 4, timeout);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == wake_fd) {
                uint64_t v;
                while (read(wake_fd, &v, sizeof(v)) > 0)
                    ;
            } else if (fd == c.ifd) {
                watch_handle();
            } else if (fd == c.nlfd) {
                if (iftable_handle())
                    for (size_t k = 0; k < c.nmc; k++)
                        udp_rejoin(c.mc_fds[k], &c.mc_la[k]);
            } else if (fd == c.ctlfd) {
                ctl_handle(c.ctlfd, answer, &c);
            } else if (fd == c.sigfd) {
                struct signalfd_siginfo si;
                while (read(c.sigfd, &si, sizeof(si)) == sizeof(si)) {
                    if (si.ssi_signo == SIGHUP)
                        reload(&c);
                    else if (si.ssi_signo == SIGUSR1)
                        log_stats(&c);
                    else {
                        log_notice("signal %u: stopping", si.ssi_signo);
                        running = 0;
                    }
                }
            }
        }
    }
out:
    sd_notify(0, "STOPPING=1");
    for (unsigned i = 0; i < c.nworkers; i++)
        worker_stop(c.workers[i]);
    free(c.workers);
    ctl_close(c.ctlfd, c.ctl_path);
    free(c.ctl_path);
    free(c.mc_fds);
    free(c.mc_la);
    qsbr_set_notify(NULL);
    host_set_wakeup(NULL);
    snapshot_free(c.cur);
    iftable_shutdown();
    qsbr_reclaim(1);
    watch_shutdown();
    if (c.sigfd >= 0)
        close(c.sigfd);
    if (c.epfd >= 0)
        close(c.epfd);
    if (wake_fd >= 0)
        close(wake_fd);
    wake_fd = -1;
    return code;
}

/* plugins/pipe/supervise.c - the programs' lives, on the control thread:
 * start, the version line, reaping, restarts with backoff, idle checks.
 *
 * Worker threads never start, wait for or reap a process: they mark a
 * pipe DEAD and ask for reload(), which runs here. tgedd's control loop
 * neither handles SIGCHLD nor reaps children, so every program is reaped
 * here with waitpid() on its own pid; its group is killed before that,
 * while the pid cannot have been reused. Nothing here blocks while tgedd
 * serves: a starting program is looked at again a few milliseconds later
 * (reload() rescheduled) instead of waited for.
 *
 * SPDX-License-Identifier: MIT
 */
#include "pipe.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Why a start failed, for init(): anything but the program's own ERROR
 * line means it cannot serve as configured. */
enum { REFUSED_NONE = 0, REFUSED_TRANSIENT, REFUSED_BROKEN };

static int get_state(struct pipe_backend *b, struct slot *s)
{
    pthread_mutex_lock(&b->mu);
    int st = s->state;
    pthread_mutex_unlock(&b->mu);
    return st;
}

static void set_state(struct pipe_backend *b, struct slot *s, int state)
{
    pthread_mutex_lock(&b->mu);
    s->state = state;
    pthread_mutex_unlock(&b->mu);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static unsigned next_backoff(const struct pipe_settings *set, unsigned d)
{
    unsigned max = set->restart_delay_ms > PIPE_RESTART_MAX_MS
                       ? set->restart_delay_ms
                       : PIPE_RESTART_MAX_MS;
    return d >= max / 2 ? max : d * 2;
}

/* Spawn the program of s and send the version line: STARTING, or DOWN
 * with a restart planned (spawn failed; logged). */
static int start(struct pipe_backend *b, struct slot *s, int64_t now)
{
    snprintf(b->set.instance_var + sizeof("TGED_PIPE_INSTANCE=") - 1, 7, "%u",
             s->index);
    s->in_fd = s->out_fd = -1;
    int rc = proc_spawn(&b->set, &s->pid, &s->in_fd, &s->out_fd);
    if (rc) {
        s->pid = 0;
        /* posix_spawn says ENOENT for a script whose #! interpreter is
         * missing: the file itself was there a moment ago. */
        tged_log(b->ctx, LOG_ERR, "%scommand: cannot run %s: %s%s",
                 b->set.command_at, b->set.argv[0], strerror(-rc),
                 rc == -ENOENT && access(b->set.argv[0], F_OK) == 0
                     ? " (the interpreter its #! line names?)"
                     : "");
        s->restart_at_ms = now + s->backoff_ms;
        s->backoff_ms = next_backoff(&b->set, s->backoff_ms);
        set_state(b, s, SLOT_DOWN);
        return rc;
    }
    s->uid = geteuid();
    linebuf_reset(&s->lb);
    s->answered = 0;
    s->why[0] = '\0';
    s->started_ms = now;
    s->deadline_ms = now + b->set.start_timeout_ms;
    s->poll_ms = 1;
    s->wake_ms = now + 1;
    /* A program that already closed its stdin shows as an end of its
     * output: nothing to do about the error here. */
    (void)proc_write(s->in_fd, PIPE_HELLO, sizeof(PIPE_HELLO) - 1);
    set_state(b, s, SLOT_STARTING);
    return 0;
}

/* Look at the answer to the version line, without waiting. Returns the
 * REFUSED_ kind when the start failed (s is then DEAD). */
static int step(struct pipe_backend *b, struct slot *s, int64_t now)
{
    const char *line, *arg;
    size_t len, alen;
    char esc[256];
    int r = linebuf_next(&s->lb, s->out_fd, 0, &line, &len);
    if (r == LINEBUF_WAIT) {
        if (now < s->deadline_ms) {
            s->poll_ms = s->poll_ms >= 32 ? 64 : s->poll_ms * 2;
            s->wake_ms = now + s->poll_ms < s->deadline_ms ? now + s->poll_ms
                                                           : s->deadline_ms;
            return REFUSED_NONE;
        }
        slot_fail(b, s, 1,
                  "did not answer the version line within %u ms "
                  "(start_timeout_ms)",
                  b->set.start_timeout_ms);
        return REFUSED_BROKEN;
    }
    if (r == LINEBUF_EOF) {
        slot_fail(b, s, 0,
                  "ended its output before answering the version "
                  "line");
        return REFUSED_BROKEN;
    }
    if (r != LINEBUF_LINE) {
        slot_fail(b, s, 1, "does not speak the pipe protocol: %s",
                  r == LINEBUF_LONG ? "its first line is too long"
                                    : strerror(errno));
        return REFUSED_BROKEN;
    }
    switch (pipe_parse_hello(line, len, &arg, &alen)) {
    case PIPE_HELLO_OK:
        if (linebuf_pending(&s->lb)) {
            slot_fail(b, s, 1,
                      "wrote more than OK %d before any request: "
                      "'%s'",
                      PIPE_PROTOCOL,
                      pipe_escape(esc, sizeof(esc), s->lb.buf + s->lb.start,
                                  linebuf_pending(&s->lb)));
            return REFUSED_BROKEN;
        }
        tged_log(b->ctx, s->ever_ready ? LOG_NOTICE : LOG_INFO,
                 "pipe %u: %s (pid %d) %s", s->index, b->set.argv[0],
                 (int)s->pid, s->ever_ready ? "started again" : "started");
        s->ever_ready = 1;
        set_state(b, s, SLOT_READY);
        return REFUSED_NONE;
    case PIPE_HELLO_VERSION:
        slot_fail(b, s, 1,
                  "speaks pipe protocol version %s, and this tgedd speaks "
                  "version %d (it sent 'TGED-PIPE %d', the program must "
                  "answer 'OK %d'): refused",
                  pipe_escape(esc, 64, arg, alen), PIPE_PROTOCOL, PIPE_PROTOCOL,
                  PIPE_PROTOCOL);
        return REFUSED_BROKEN;
    case PIPE_HELLO_ERROR:
        /* Its own "not now": closing its stdin asks it to exit. */
        slot_fail(b, s, 0, "cannot serve: ERROR %s",
                  pipe_escape(esc, sizeof(esc), arg, alen));
        return REFUSED_TRANSIENT;
    default:
        slot_fail(b, s, 1,
                  "does not speak the pipe protocol: it answered '%s' to "
                  "'TGED-PIPE %d' (expected 'OK %d' or 'ERROR <text>')",
                  pipe_escape(esc, sizeof(esc), line, len), PIPE_PROTOCOL,
                  PIPE_PROTOCOL);
        return REFUSED_BROKEN;
    }
}

enum reap_mode {
    REAP_RESTART, /* plan a restart and say when */
    REAP_FINAL,   /* init() failed: no restart */
    REAP_STOP,    /* close(): quietly, unless it had to be signalled */
};

/* Hand a program tgedd can no longer kill over to the retired list (it
 * was asked to exit by the end of its input); s has no process after. */
static void retire(struct pipe_backend *b, struct slot *s, int64_t now)
{
    if (b->nretired == b->retired_cap) {
        size_t cap = b->retired_cap ? 2 * b->retired_cap : 4;
        struct retired *r = realloc(b->retired, cap * sizeof(*r));
        if (!r) {
            tged_log(b->ctx, LOG_ERR,
                     "out of memory: pid %d will not be "
                     "reaped",
                     (int)s->pid);
            s->pid = 0;
            return;
        }
        b->retired = r;
        b->retired_cap = cap;
    }
    b->retired[b->nretired++] =
        (struct retired){.pid = s->pid, .index = s->index, .since_ms = now};
    s->pid = 0;
}

/* Reap the retired programs that have exited; the next time to look. */
static int64_t tend_retired(struct pipe_backend *b, int64_t now)
{
    int64_t next = 0;
    for (size_t i = 0; i < b->nretired;) {
        struct retired *r = &b->retired[i];
        int ex = proc_exited(r->pid);
        if (ex != 0) {
            char status[128] = "ended";
            if (ex == 1)
                proc_reap(r->pid, status, sizeof(status));
            tged_log(b->ctx, LOG_INFO,
                     "pipe %u: the program (pid %d) that "
                     "started before tgedd gave up root %s",
                     r->index, (int)r->pid, status);
            b->retired[i] = b->retired[--b->nretired];
            continue;
        }
        if (!r->warned && now - r->since_ms >= 1000) {
            tged_log(b->ctx, LOG_ERR,
                     "pipe %u: the program (pid %d) started before tgedd gave "
                     "up root and does not exit at the end of its input; "
                     "tgedd cannot kill it any more: kill it yourself",
                     r->index, (int)r->pid);
            r->warned = 1;
        }
        int64_t t = now + (r->warned ? PIPE_CHECK_MS : 50);
        if (!next || t < next)
            next = t;
        i++;
    }
    return next;
}

/* Reap a DEAD pipe's program once it has exited (killing it when its
 * grace is over) and plan its restart. 1 when it is DOWN now. */
static int reap(struct pipe_backend *b, struct slot *s, int64_t now,
                enum reap_mode mode)
{
    char status[160] = "ended";
    pid_t pid = s->pid;
    if (pid) {
        int ex = proc_exited(pid);
        if (ex == 0) {
            if (now < s->kill_at_ms) {
                s->wake_ms = s->kill_at_ms;
                return 0;
            }
            if (proc_kill(pid, SIGKILL) != -EPERM) {
                s->wake_ms = now + 5;
                return 0;
            }
            snprintf(status, sizeof(status),
                     "cannot be killed since tgedd gave up root (left to "
                     "exit at the end of its input)");
            retire(b, s, now);
        } else {
            if (ex == 1)
                proc_kill(pid, SIGKILL); /* what it started in its group */
            proc_reap(pid, status, sizeof(status));
        }
    }
    if (s->answered || now - s->started_ms >= PIPE_HEALTHY_MS)
        s->backoff_ms = b->set.restart_delay_ms;
    unsigned delay = s->backoff_ms;
    s->backoff_ms = next_backoff(&b->set, delay);
    s->restart_at_ms = now + delay;
    char plan[64] = "";
    if (mode == REAP_RESTART)
        snprintf(plan, sizeof(plan), "; starting it again in %u ms", delay);
    tged_log(b->ctx, s->why_prio, "pipe %u: the program (pid %d) %s; it %s%s",
             s->index, (int)pid, s->why[0] ? s->why : "stopped", status, plan);
    s->pid = 0;
    set_state(b, s, SLOT_DOWN);
    return 1;
}

/* A READY pipe whose program runs as another user than tgedd now does
 * (tgedd gave up root after starting it): start it again as tgedd's user,
 * whom it may then kill. Returns the slot's state after. */
static int restart_as_user(struct pipe_backend *b, struct slot *s, int64_t now)
{
    pthread_mutex_lock(&b->mu);
    int mine = s->state == SLOT_READY;
    if (mine)
        s->state = SLOT_BUSY;
    pthread_mutex_unlock(&b->mu);
    if (!mine)
        return get_state(b, s);
    tged_log(b->ctx, LOG_NOTICE,
             "pipe %u: the program (pid %d) runs as uid %u, and tgedd now as "
             "uid %u: starting it again as uid %u",
             s->index, (int)s->pid, (unsigned)s->uid, (unsigned)geteuid(),
             (unsigned)geteuid());
    close(s->in_fd);
    close(s->out_fd);
    s->in_fd = s->out_fd = -1;
    retire(b, s, now);
    return start(b, s, now) ? SLOT_DOWN : SLOT_STARTING;
}

/* The earliest of a and b, where 0 is "never". */
static int64_t sooner(int64_t a, int64_t b)
{
    return !a || (b && b < a) ? b : a;
}

void supervise_tick(struct pipe_backend *b)
{
    int64_t now = pipe_now_ms();
    int check = now >= b->next_check_ms;
    int64_t next = 0;
    for (unsigned i = 0; i < b->nslots; i++) {
        struct slot *s = &b->slots[i];
        int st = get_state(b, s);
        if (st == SLOT_DEAD && reap(b, s, now, REAP_RESTART))
            st = SLOT_DOWN;
        if (st == SLOT_DOWN && now >= s->restart_at_ms && !start(b, s, now))
            st = SLOT_STARTING;
        if (st == SLOT_STARTING) {
            step(b, s, now);
            st = get_state(b, s);
            if (st == SLOT_DEAD && reap(b, s, now, REAP_RESTART))
                st = SLOT_DOWN;
        }
        if (st == SLOT_READY && s->uid != geteuid())
            st = restart_as_user(b, s, now);
        if (st == SLOT_BUSY && s->uid != geteuid())
            next = sooner(next, now + 10); /* once its request is done */
        if (st == SLOT_READY && check) {
            pthread_mutex_lock(&b->mu);
            int busy = s->state == SLOT_READY && slot_idle_check(s);
            pthread_mutex_unlock(&b->mu);
            if (busy) {
                slot_idle_fail(b, s);
                st = get_state(b, s);
            }
        }
        if (st == SLOT_DEAD || st == SLOT_STARTING)
            next = sooner(next, s->wake_ms);
        else if (st == SLOT_DOWN)
            next = sooner(next, s->restart_at_ms);
    }
    if (check)
        b->next_check_ms = now + PIPE_CHECK_MS;
    next = sooner(next, b->next_check_ms);
    next = sooner(next, tend_retired(b, now));
    tged_reload_after(b->ctx, next > now ? (unsigned)(next - now) : 0);
}

/* Wait (blocking: init() and close() only) until the DEAD pipe's program
 * has exited, killing it after its grace. */
static void reap_now(struct pipe_backend *b, struct slot *s,
                     enum reap_mode mode)
{
    for (int i = 0; i < 2000; i++) {
        if (reap(b, s, pipe_now_ms(), mode))
            return;
        sleep_ms(1);
    }
    tged_log(b->ctx, LOG_ERR,
             "pipe %u: the program (pid %d) does not exit "
             "even killed; left behind",
             s->index, (int)s->pid);
    s->pid = 0;
    set_state(b, s, SLOT_DOWN);
}

int supervise_start(struct pipe_backend *b)
{
    int64_t now = pipe_now_ms();
    for (unsigned i = 0; i < b->nslots; i++) {
        b->slots[i].backoff_ms = b->set.restart_delay_ms;
        if (start(b, &b->slots[i], now)) {
            supervise_stop(b);
            return -ENOEXEC;
        }
    }
    int refused = REFUSED_NONE;
    for (;;) {
        struct pollfd p[64];
        struct slot *who[64];
        unsigned n = 0;
        now = pipe_now_ms();
        for (unsigned i = 0; i < b->nslots; i++) {
            struct slot *s = &b->slots[i];
            if (s->state != SLOT_STARTING)
                continue;
            int r = step(b, s, now);
            if (r > refused)
                refused = r;
            if (s->state == SLOT_STARTING) {
                p[n] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
                who[n++] = s;
            }
        }
        if (!n)
            break;
        int64_t wait = who[0]->deadline_ms - now;
        poll(p, n, wait > 0 ? (int)wait : 0);
    }
    for (unsigned i = 0; i < b->nslots; i++)
        if (b->slots[i].state == SLOT_DEAD)
            reap_now(b, &b->slots[i],
                     refused == REFUSED_BROKEN ? REAP_FINAL : REAP_RESTART);
    if (refused == REFUSED_BROKEN) {
        tged_log(b->ctx, LOG_ERR,
                 "%scommand: %s cannot serve as a pipe backend (see above; "
                 "the protocol is in docs/backends/pipe.md)",
                 b->set.command_at, b->set.argv[0]);
        supervise_stop(b);
        return -EPROTO;
    }
    b->next_check_ms = now + PIPE_CHECK_MS;
    /* Restarts of pipes that said ERROR, and the idle checks. */
    supervise_tick(b);
    /* tgedd may give up root right after the backends start: the first
     * tick then starts the programs again as its new user. */
    if (geteuid() == 0)
        tged_reload_after(b->ctx, 0);
    return 0;
}

static int any_running(struct pipe_backend *b)
{
    for (unsigned i = 0; i < b->nslots; i++)
        if (b->slots[i].pid > 0 && proc_exited(b->slots[i].pid) == 0)
            return 1;
    for (size_t i = 0; i < b->nretired; i++)
        if (proc_exited(b->retired[i].pid) == 0)
            return 1;
    return 0;
}

void supervise_stop(struct pipe_backend *b)
{
    /* End of input first: a program that reads its stdin to the end exits
     * on its own, with whatever cleaning up it does. */
    for (unsigned i = 0; i < b->nslots; i++) {
        struct slot *s = &b->slots[i];
        if (s->in_fd >= 0)
            close(s->in_fd);
        s->in_fd = -1;
        if (s->state == SLOT_DEAD)
            continue; /* keeps the reason it died for */
        snprintf(s->why, sizeof(s->why), "was stopped at the end of its input");
        s->why_prio = LOG_DEBUG;
    }
    /* SIGTERM after 200 ms, SIGKILL after 400 ms (in reap()). */
    int64_t t0 = pipe_now_ms();
    int termed = 0;
    while (any_running(b) && pipe_now_ms() - t0 < 400) {
        if (!termed && pipe_now_ms() - t0 >= 200) {
            termed = 1;
            for (unsigned i = 0; i < b->nslots; i++) {
                struct slot *s = &b->slots[i];
                if (s->pid > 0 && proc_exited(s->pid) == 0 &&
                    proc_kill(s->pid, SIGTERM) == 0) {
                    snprintf(s->why, sizeof(s->why),
                             "did not exit within 200 ms of the end of its "
                             "input");
                    s->why_prio = LOG_WARNING;
                }
            }
        }
        sleep_ms(2);
    }
    for (unsigned i = 0; i < b->nslots; i++) {
        struct slot *s = &b->slots[i];
        if (s->out_fd >= 0)
            close(s->out_fd);
        s->out_fd = -1;
        if (s->pid > 0) {
            s->kill_at_ms = 0; /* no grace left */
            reap_now(b, s, REAP_STOP);
        }
    }
    tend_retired(b, pipe_now_ms());
    for (size_t i = 0; i < b->nretired; i++)
        tged_log(b->ctx, LOG_ERR,
                 "pipe %u: the program (pid %d), started before tgedd gave up "
                 "root, is left running: it does not exit at the end of its "
                 "input, and tgedd cannot kill it",
                 b->retired[i].index, (int)b->retired[i].pid);
    free(b->retired);
    b->retired = NULL;
    b->nretired = b->retired_cap = 0;
}

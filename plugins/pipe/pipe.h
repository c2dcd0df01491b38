/* plugins/pipe/pipe.h - the pipe backend: its state and its parts.
 *
 * A backend runs `concurrency` copies of a program (one "pipe" each) and
 * asks them over their stdin and stdout (docs/backends/pipe.md). Worker
 * threads use a pipe that is READY for one request at a time; everything
 * else about processes (starting, the version line, reaping, restarting
 * with backoff, looking at idle pipes) is done on tgedd's control thread,
 * in reload(), which the backend schedules with tged_reload_after().
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_PIPE_H
#define TGED_PIPE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <tged/plugin.h>

#include "answer.h"
#include "cache.h"
#include "linebuf.h"

/* Restart delays double up to this (or restart_delay_ms if larger). */
#define PIPE_RESTART_MAX_MS 10000
/* A program up this long, or that answered a request, restarts after
 * restart_delay_ms again rather than after the doubled delay. */
#define PIPE_HEALTHY_MS 10000
/* How often the control thread looks at idle pipes (a program that exited
 * while idle is reaped and restarted without waiting for a request). */
#define PIPE_CHECK_MS 1000
/* How long a program that closed its output may take to exit before it is
 * killed. */
#define PIPE_EXIT_GRACE_MS 100

/* ---- settings.c ----------------------------------------------------- */

struct pipe_settings {
    char **argv;        /* argv[0]: the program, an absolute path; NULL-ended */
    char *dir;          /* working folder: the configuration file's */
    char *command_at;   /* "file:line: " of `command`, for messages */
    char **envp;        /* the program's environment, NULL-ended */
    char *instance_var; /* the TGED_PIPE_INSTANCE=N entry of envp */
    unsigned timeout_ms, start_timeout_ms, restart_delay_ms, concurrency;
    int64_t cache_ttl_ms;
    size_t cache_size;
    char **types; /* NULL: the program decides */
    size_t *type_lens;
    uint64_t *type_hashes;
    size_t ntypes;
};

/* Read and check every setting; logs file:line and returns -errno. */
int settings_read(struct tged_instance *ctx, struct pipe_settings *s);
void settings_free(struct pipe_settings *s);
/* With `types`: the spelling of the type q asks for, or NULL when the
 * backend does not serve it. Without: q's own type. */
const char *settings_type(const struct pipe_settings *s,
                          const struct tged_query *q, size_t *len);

/* ---- spawn.c --------------------------------------------------------- */

/* Start argv with its stdin and stdout on new pipes, in a process group of
 * its own; *in_fd (its stdin) and *out_fd (its stdout) are our
 * non-blocking, close-on-exec ends. 0 or -errno. */
int proc_spawn(const struct pipe_settings *s, pid_t *pid, int *in_fd,
               int *out_fd);
/* Write what fits of buf (fd is non-blocking) without ever raising
 * SIGPIPE: tgedd ignores it only once it serves, not while backends start
 * nor under -t. The bytes written, or -errno (-EPIPE: the program closed
 * its stdin). */
ssize_t proc_write(int fd, const char *buf, size_t len);
/* 1 when pid has exited (it stays a zombie: its pid and group cannot be
 * reused), 0 when running, -1 when it is not our child any more. */
int proc_exited(pid_t pid);
/* Signal pid's whole process group; 0 or -errno (-EPERM: it runs as
 * another user, since tgedd gave up root). */
int proc_kill(pid_t pid, int sig);
/* Collect an exited child; "exited with status 3", "was killed by signal
 * 9 (Killed)"... in buf. */
void proc_reap(pid_t pid, char *buf, size_t len);

/* ---- the pipes -------------------------------------------------------- */

enum slot_state {
    SLOT_DOWN = 0, /* no process; started again at restart_at_ms */
    SLOT_STARTING, /* waiting for the answer to the version line */
    SLOT_READY,    /* idle: a worker may take it */
    SLOT_BUSY,     /* one worker (or a check) uses it */
    SLOT_DEAD,     /* its process is gone or going: to be reaped */
};

struct slot {
    unsigned index;
    int state; /* enum slot_state; changes under backend->mu */
    /* Owned by whoever the state gives the slot to: the worker that made
     * it BUSY, else the control thread. */
    pid_t pid; /* also its process group; 0: none */
    uid_t uid; /* tgedd's effective uid when it was started: its own */
    int in_fd, out_fd;
    struct linebuf lb;
    struct pipe_answer ans;
    int answered;       /* answered a request since it started */
    char why[768];      /* why it is DEAD, for the reaper's log line */
    int why_prio;       /* LOG_ERR when killed for what it did, ... */
    int64_t kill_at_ms; /* when a program that should exit gets SIGKILL */
    /* Control thread only. */
    int ever_ready;
    int64_t started_ms, deadline_ms, wake_ms, restart_at_ms;
    unsigned poll_ms, backoff_ms;
};

/* Requests answered unavailable for one reason, logged at most every
 * PIPE_NOTE_MS. */
struct pipe_note {
    uint64_t count, logged; /* atomic */
    int64_t log_ms;         /* atomic */
};
#define PIPE_NOTE_MS 10000

struct pipe_backend {
    struct tged_instance *ctx;
    struct pipe_settings set;
    pthread_mutex_t mu;
    struct slot *slots;
    unsigned nslots;
    struct cache cache; /* cache.slots NULL: no cache */
    uint64_t next_id;   /* atomic */
    int64_t next_check_ms;
    struct pipe_note busy, down; /* no pipe free / none running */
    /* Programs tgedd can no longer kill (started as root before tgedd gave
     * up root): asked to exit by the end of their input, reaped when they
     * have. Control thread only. */
    struct retired *retired;
    size_t nretired, retired_cap;
};

struct retired {
    pid_t pid;
    unsigned index;
    int64_t since_ms;
    int warned;
};

/* ---- supervise.c (control thread) ----------------------------------- */

/* init(): start every pipe and wait for the version lines. 0, or -errno
 * after logging when the program cannot serve at all. */
int supervise_start(struct pipe_backend *b);
/* reload(): reap, restart, finish starts, look at idle pipes; schedules
 * the next call. */
void supervise_tick(struct pipe_backend *b);
/* close(): stop every program and reap it. */
void supervise_stop(struct pipe_backend *b);

/* ---- request.c (worker threads) -------------------------------------- */

int pipe_lookup(void *state, const struct tged_query *q,
                struct tged_sink *sink);

/* Any thread that owns a slot: kill its program (unless it just closed its
 * output: then it gets PIPE_EXIT_GRACE_MS to exit), close our ends, mark it
 * DEAD and have the control thread reap it. why is formatted. */
void slot_fail(struct pipe_backend *b, struct slot *s, int kill_now,
               const char *fmt, ...) TGED_PRINTF(4, 5);
/* With b->mu held and s READY: 0 when its program is quiet, as an idle
 * program must be; else s is made BUSY (the caller then unlocks and calls
 * slot_idle_fail()). */
int slot_idle_check(struct slot *s);
/* Say what an idle program did (it wrote, or closed its output) and
 * slot_fail() it. The caller owns s (BUSY) and does not hold b->mu. */
void slot_idle_fail(struct pipe_backend *b, struct slot *s);

#endif

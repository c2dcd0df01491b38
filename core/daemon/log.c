/* core/daemon/log.c - tgedd's log: stderr in the foreground, syslog otherwise.
 * SPDX-License-Identifier: MIT */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int use_stderr = 1;
static int level = LOG_INFO;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const prio_name[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_open(int to_stderr, int max_prio)
{
    use_stderr = to_stderr;
    level = max_prio;
    if (!use_stderr)
        openlog("tgedd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_close(void)
{
    if (!use_stderr)
        closelog();
}

int log_level(void)
{
    return __atomic_load_n(&level, __ATOMIC_RELAXED);
}

void log_set_level(int max_prio)
{
    __atomic_store_n(&level, max_prio, __ATOMIC_RELAXED);
}

void log_vmsg(int prio, const char *prefix, const char *fmt, va_list ap)
{
    if (prio > log_level())
        return;
    char text[1024];
    int n = 0;
    if (prefix)
        n = snprintf(text, sizeof(text), "%s", prefix);
    if (n < 0 || (size_t)n >= sizeof(text))
        n = 0;
    vsnprintf(text + n, sizeof(text) - n, fmt, ap);
    if (!use_stderr) {
        syslog(prio, "%s", text);
        return;
    }
    /* One write per line, under a lock, so lines from threads never mix. */
    pthread_mutex_lock(&lock);
    fprintf(stderr, "tgedd: %s: %s\n", prio_name[prio & 7], text);
    fflush(stderr);
    pthread_mutex_unlock(&lock);
}

void log_msg(int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(prio, NULL, fmt, ap);
    va_end(ap);
}

void log_limited(struct log_limit *lim, int prio, const char *fmt, ...)
{
    if (prio > log_level())
        return;
    uint64_t now = now_ms();
    unsigned held = 0;
    int pass = 0;
    pthread_mutex_lock(&lock);
    if (!lim->init) {
        lim->init = 1;
        lim->tokens = lim->burst;
        lim->next_ms = now + lim->interval_ms;
    }
    while (now >= lim->next_ms && lim->tokens < lim->burst) {
        lim->tokens++;
        lim->next_ms += lim->interval_ms;
    }
    if (lim->tokens == lim->burst)
        lim->next_ms = now + lim->interval_ms;
    if (lim->tokens > 0) {
        lim->tokens--;
        pass = 1;
        held = lim->suppressed;
        lim->suppressed = 0;
    } else {
        lim->suppressed++;
    }
    pthread_mutex_unlock(&lock);
    if (!pass)
        return;
    va_list ap;
    va_start(ap, fmt);
    char prefix[64] = "";
    if (held)
        snprintf(prefix, sizeof(prefix), "(%u like this held back) ", held);
    log_vmsg(prio, held ? prefix : NULL, fmt, ap);
    va_end(ap);
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t now_ms(void)
{
    return now_ns() / 1000000u;
}

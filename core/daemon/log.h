/* core/daemon/log.h - tgedd's log: stderr in the foreground, syslog otherwise.
 */
#ifndef TGEDD_LOG_H
#define TGEDD_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

#include <tged/plugin.h>

/* Where messages go, and from which priority on. */
void log_open(int to_stderr, int max_prio);
void log_close(void);
int log_level(void);
void log_set_level(int max_prio);

void log_msg(int prio, const char *fmt, ...) TGED_PRINTF(2, 3);
void log_vmsg(int prio, const char *prefix, const char *fmt, va_list ap);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A limit on how often one kind of message is logged, so that a flood of
 * bad input cannot fill the disk: at most `burst` messages, refilled at one
 * per `interval_ms`; what was held back is counted in the next message. */
struct log_limit {
    unsigned burst;
    unsigned interval_ms;
    /* private */
    uint64_t next_ms;
    unsigned tokens;
    unsigned suppressed;
    int init;
};
#define LOG_LIMIT_INIT(b, ms)                                                  \
    {                                                                          \
        .burst = (b), .interval_ms = (ms)                                      \
    }

/* Log unless over the limit; thread-safe. */
void log_limited(struct log_limit *lim, int prio, const char *fmt, ...)
    TGED_PRINTF(3, 4);

/* Monotonic clock in milliseconds and nanoseconds. */
uint64_t now_ms(void);
uint64_t now_ns(void);

#endif

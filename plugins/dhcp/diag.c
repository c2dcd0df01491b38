/* plugins/dhcp/diag.c - messages about a file, with file:line and a cap.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "dhcp.h"

static void vemit(struct dhcp_diag *d, int prio, const char *file,
                  unsigned line, unsigned col, const char *fmt, va_list ap)
{
    if (!d->emit)
        return;
    char msg[900];
    int n = col    ? snprintf(msg, sizeof(msg), "%s:%u:%u: ", file, line, col)
            : line ? snprintf(msg, sizeof(msg), "%s:%u: ", file, line)
                   : snprintf(msg, sizeof(msg), "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    d->emit(d->arg, prio, msg);
}

static void emit(struct dhcp_diag *d, int prio, const char *file, unsigned line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void emit(struct dhcp_diag *d, int prio, const char *file, unsigned line,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vemit(d, prio, file, line, 0, fmt, ap);
    va_end(ap);
}

void dhcp_diag_begin(struct dhcp_diag *d)
{
    d->warnings = 0;
    d->suppressed = 0;
}

void dhcp_diag_end(struct dhcp_diag *d, const char *file)
{
    /* A hostile or damaged file must not flood the log: the first few
     * warnings say what is wrong, the count says how much. */
    if (d->suppressed)
        emit(d, LOG_WARNING, file, 0, "%u more warnings not shown (%u in all)",
             d->suppressed, d->warnings);
}

static int capped(struct dhcp_diag *d, int prio)
{
    if (prio == LOG_WARNING && ++d->warnings > DHCP_WARN_SHOWN) {
        d->suppressed++;
        return 1;
    }
    return 0;
}

void dhcp_report(struct dhcp_diag *d, int prio, const char *file, unsigned line,
                 const char *fmt, ...)
{
    if (capped(d, prio))
        return;
    va_list ap;
    va_start(ap, fmt);
    vemit(d, prio, file, line, 0, fmt, ap);
    va_end(ap);
}

void dhcp_report_at(struct dhcp_diag *d, int prio, const char *file,
                    unsigned line, unsigned col, const char *fmt, ...)
{
    if (capped(d, prio))
        return;
    va_list ap;
    va_start(ap, fmt);
    vemit(d, prio, file, line, col, fmt, ap);
    va_end(ap);
}

/* core/daemon/control.h - the control thread: signals, reloads, watches. */
#ifndef TGEDD_CONTROL_H
#define TGEDD_CONTROL_H

struct snapshot;

struct control_opts {
    const char *config_path; /* absolute */
    int ready_fd;            /* write one byte here once serving, or -1 */
    int debug;               /* -d: keep logging debug over log_level */
};

/* Open the sockets, start the workers on snapshot s (which the control
 * thread owns from now on), and run until SIGTERM or SIGINT. Returns the
 * process exit code. */
int control_run(const struct control_opts *o, struct snapshot *s);

#endif

/* core/daemon/ctl.h - the control socket: counters, status and reload for
 * `tged --stats` and friends. */
#ifndef TGEDD_CTL_H
#define TGEDD_CTL_H

#include <stddef.h>

/* Default path of the control socket (under systemd's RuntimeDirectory). */
#define TGED_CONTROL_PATH "/run/tged/control"

/* Listen on a Unix stream socket at path (its folder is made if missing).
 * Returns the descriptor or -errno (after logging). */
int ctl_listen(const char *path);
void ctl_close(int fd, const char *path);

/* The control thread's answer to one command. */
typedef void (*ctl_answer_fn)(const char *cmd, char *out, size_t cap,
                              void *arg);

/* Accept every waiting client, read its one-line command, answer with fn,
 * close. A client that does not send its line at once is dropped: the
 * control thread never waits on a client. */
void ctl_handle(int fd, ctl_answer_fn fn, void *arg);

#endif

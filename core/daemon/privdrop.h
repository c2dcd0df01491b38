/* core/daemon/privdrop.h - giving up root once sockets and files are open. */
#ifndef TGEDD_PRIVDROP_H
#define TGEDD_PRIVDROP_H

#include "snapshot.h"

/* Check the user and group settings (that the names exist) at load time;
 * 0 or -1 after logging. */
int privdrop_check(const struct settings *set);

/* 1 (after logging why) when tgedd would run as root with neither
 * responder.user nor run_as_root: a configuration error, found before
 * anything starts. */
int privdrop_refuses_root(const struct settings *set);

/* After the sockets, the control socket and every backend's start-up:
 * become responder.user / responder.group (setgroups, setresgid,
 * setresuid, in that order), and make sure root cannot come back. When
 * tgedd runs as root and no user is set, refuse unless run_as_root.
 * 0, or -1 after logging why. */
int privdrop_apply(const struct settings *set);

#endif

/* core/daemon/privdrop.c - giving up root once sockets and files are open.
 * SPDX-License-Identifier: MIT */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"

static int lookup(const struct settings *set, uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(set->user);
    if (!pw) {
        log_err("responder.user: no user named '%s'", set->user);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (set->group) {
        struct group *gr = getgrnam(set->group);
        if (!gr) {
            log_err("responder.group: no group named '%s'", set->group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

int privdrop_check(const struct settings *set)
{
    uid_t uid;
    gid_t gid;
    if (set->group && !set->user) {
        log_err("responder.group needs responder.user");
        return -1;
    }
    return set->user ? lookup(set, &uid, &gid) : 0;
}

int privdrop_refuses_root(const struct settings *set)
{
    if (geteuid() != 0 || set->user || set->run_as_root)
        return 0;
    log_err("tgedd runs as root: set responder.user (for example "
            "\"nobody\") to the user it should run as once its sockets are "
            "open, or responder.run_as_root = true to keep root");
    return 1;
}

int privdrop_apply(const struct settings *set)
{
    if (geteuid() != 0) {
        if (set->user)
            log_info("responder.user '%s' not applied: tgedd does not run as "
                     "root, so it already has no privilege to give up",
                     set->user);
        return 0;
    }
    if (!set->user) {
        if (privdrop_refuses_root(set))
            return -1;
        log_info("running as root (responder.run_as_root = true)");
        return 0;
    }
    uid_t uid;
    gid_t gid;
    if (lookup(set, &uid, &gid))
        return -1;
    if (uid == 0) {
        log_err("responder.user '%s' is root: name an unprivileged user",
                set->user);
        return -1;
    }
    /* Order matters: groups first, while we may still change them. */
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        log_err("cannot become user %s: %s", set->user, strerror(errno));
        return -1;
    }
    /* No way back: a failed setuid(0) proves the drop, and no exec may
     * gain privileges. */
    if (setuid(0) == 0 || seteuid(0) == 0) {
        log_err("still able to become root after dropping privileges");
        return -1;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    log_info("running as user %s (uid %u, gid %u)", set->user, (unsigned)uid,
             (unsigned)gid);
    return 0;
}

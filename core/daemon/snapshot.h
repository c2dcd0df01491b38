/* core/daemon/snapshot.h - one immutable configuration: settings, plugin
 * instances and routes, built whole from a file, swapped in whole. */
#ifndef TGEDD_SNAPSHOT_H
#define TGEDD_SNAPSHOT_H

#include <libconfig.h>
#include <stddef.h>

#include "acl.h"
#include "host.h"
#include "keys.h"
#include "ratelimit.h"
#include "router.h"

struct settings {
    size_t max_replies;
    size_t max_reply_size;
    int answer_unknown;
    unsigned workers;
    char **listen;
    size_t nlisten;
    int log_level;       /* syslog priority, -1 when not set */
    const char *control; /* control socket path, "" for none */
    struct acl acl;      /* who may ask at all */
    struct rl_conf rl;   /* rate limits */
    const char *user;    /* run as this user once started, or NULL */
    const char *group;
    int run_as_root;
    struct keyring *keys; /* authenticated discovery; NULL: none */
};

struct snapshot {
    config_t cfg;   /* settings' strings live here */
    config_t *drop; /* the files of conf_dir, read in name order */
    size_t ndrop;
    char *path;
    struct settings set;
    char *plugin_dir;
    char *control; /* set.control when the configuration names one */
    struct module *modules;
    struct tged_instance **backends;
    size_t nbackends;
    struct router router;
};

/*
 * Read and check a configuration, open its plugins and start every backend.
 * `serving`: backends may watch files (0 for `tgedd -t`). Every problem is
 * logged with file and line; NULL when any is found.
 */
struct snapshot *snapshot_load(const char *path, int serving);

/* Close the backends and plugins; a void * for qsbr_retire(). */
void snapshot_free(void *snapshot);

#endif

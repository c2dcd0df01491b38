/* core/daemon/host.h - backend instances and the services tgedd gives them. */
#ifndef TGEDD_HOST_H
#define TGEDD_HOST_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include <tged/plugin.h>

/* A plugin file opened with dlopen, shared by the instances of one
 * configuration snapshot. */
struct module {
    char *name; /* descriptor name == file name without ".so" */
    char *path;
    void *handle;
    const struct tged_plugin *desc;
    struct module *next;
};

struct watch_file; /* see watch.h */

/* Per-backend counters, updated by workers with relaxed atomics. */
struct backend_stats {
    uint64_t lookups, found, no_match, not_mine, failed;
    uint64_t reloads, reload_errors, publishes;
    uint64_t timed, timed_ns;               /* one lookup in 64 is timed */
    uint64_t last_reload_ms, last_error_ms; /* monotonic, 0 = never */
};

struct tged_instance {
    char *name;
    struct module *mod;
    const config_setting_t *block; /* lives as long as the snapshot */
    void *state;
    int live; /* init() succeeded, close() is owed */
    size_t max_reply_size;
    char prefix[128]; /* "backend NAME (module): " */
    char **owned;     /* strings handed out by tged_get_path() */
    size_t nowned;
    struct watch_file *watches; /* files passed to tged_watch() */
    int watching;               /* tged_watch() registers (0 for -t) */
    uint64_t reload_due_ms;     /* atomic; 0 = no reload pending */
    uint64_t settle_start_ms;   /* control thread: first unread change */
    struct backend_stats stats;
};

/* Make an instance for a backend block; NULL on ENOMEM. */
struct tged_instance *instance_new(const char *name, struct module *mod,
                                   const config_setting_t *block,
                                   size_t max_reply_size);
/* Call close() if owed and free the instance. */
void instance_free(struct tged_instance *inst);

/* A watched file changed: reload once it has been quiet for settle_ms
 * (each change pushes the reload back), but no later than max_ms after the
 * first change not yet read. Control thread only. */
void instance_reload_settle(struct tged_instance *inst, unsigned settle_ms,
                            unsigned max_ms);

/* Call the plugin's reload(); logs and counts. */
void instance_reload(struct tged_instance *inst);

/* Set by the control loop: wakes it from any thread. */
void host_set_wakeup(void (*fn)(void));

/* The folder of the file a setting was read from (for relative paths);
 * writes into buf, returns buf. */
const char *setting_dir(const config_setting_t *s, char *buf, size_t len);

/* Resolve path against dir unless absolute; malloc'd. */
char *path_join(const char *dir, const char *path);

#endif

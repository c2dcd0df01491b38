/*
 * tged/plugin.h - the whole ABI between tgedd and a backend plugin.
 *
 * A plugin is a shared object that exports one descriptor, `tged_plugin`,
 * made with TGED_PLUGIN(). tgedd loads it with dlopen(RTLD_NOW|RTLD_LOCAL),
 * checks the ABI version and the name, checks every setting of each backend
 * block against the keys the plugin declares, and only then calls init().
 * The functions declared here are provided by tgedd itself; a plugin links
 * against nothing of tged's (see docs/plugins.md).
 *
 * Threads. init(), reload() and close() run on tgedd's control thread, one at
 * a time. lookup() runs on the worker threads, possibly several at once, and
 * must neither block for long nor allocate if it can help it: answer from an
 * immutable snapshot that reload() (or a thread of your own) replaces with
 * tged_snapshot_publish().
 *
 * Growing this ABI: members are only ever appended to the descriptor, and
 * tgedd reads a member only when the descriptor's `size` covers it. An
 * incompatible change bumps TGED_PLUGIN_ABI, and tgedd refuses plugins built
 * for another number.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_PLUGIN_H
#define TGED_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include <tged/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI this header describes. */
#define TGED_PLUGIN_ABI 1

#if defined(__GNUC__)
#define TGED_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TGED_PRINTF(f, a)
#endif

/** One backend instance, owned by tgedd; opaque to plugins. */
struct tged_instance;
/** Where lookup() puts the records it found; opaque. */
struct tged_sink;
/** A node of the configuration tree; opaque, see tged_cfg_*(). */
struct tged_cfg;

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

/** What a lookup found. tgedd turns these into REPLY or INVALID. */
enum tged_lookup_status {
    TGED_FOUND = 0,    /**< at least one record was added to the sink */
    TGED_NOT_MINE = 1, /**< this backend does not know the type */
    TGED_NO_MATCH = 2, /**< type known, no record matches the filters */
    TGED_FAILED = 3,   /**< could not tell (source down, ...) */
};

/** A field of a record, or a filter of a request. Not NUL-terminated. */
struct tged_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/**
 * A request as a backend sees it. Everything points into the datagram and
 * is valid only during the lookup() call.
 */
struct tged_query {
    const char *type; /**< the RQ as sent (already checked for syntax) */
    size_t type_len;
    uint64_t type_hash; /**< tged_hash_ci(type, type_len) */
    /** Filters: the request's headers that are not reserved. A record
     *  matches when it has every one of these fields with an equal value
     *  (both compared with tged_name_eq()). */
    const struct tged_field *filters;
    size_t nfilters;
};

/**
 * Add one record, given as fields, to the answer. The record's header block
 * is formatted here; a record that cannot fit the responder's
 * max_reply_size is skipped and logged (rate-limited) rather than cut.
 * @param type      the type as this backend spells it (written as RQ)
 * @param fields    in the order they are to be written
 * @return 0 to go on, 1 when the answer is full (stop adding), -EINVAL when
 *         a name or value is not valid TGED (the record is skipped)
 */
TGED_API int tged_sink_add_fields(struct tged_sink *sink, const char *type,
                                  size_t type_len,
                                  const struct tged_field *fields,
                                  size_t nfields);

/** 1 when a record with these fields matches every filter of the query. */
TGED_API int tged_query_match(const struct tged_query *q,
                              const struct tged_field *fields, size_t nfields);

/* ------------------------------------------------------------------ */
/* Record sets: an immutable, indexed store most plugins need          */

/**
 * A record set holds records formatted once, indexed by type and by every
 * (field, value) pair, so a lookup costs the same with 10 records or a
 * million. Build one with a builder, publish it as the plugin's snapshot,
 * and answer lookups with tged_recset_lookup(). A built set is immutable:
 * any number of threads may look it up at once.
 */
struct tged_recset;
struct tged_recset_builder;

/** A new, empty builder; NULL when out of memory. Any thread. Records are
 *  checked against the max_reply_size of ctx (1024 when ctx is NULL). */
TGED_API struct tged_recset_builder *
tged_recset_builder_new(const struct tged_instance *ctx);

/**
 * Add one record. Checks the type (RQ syntax), every name (syntax, not
 * reserved, not repeated) and value, and that the record fits
 * max_reply_size with the longest RQ and ID.
 * @return 0, or -EINVAL / -E2BIG / -ENOMEM with the reason in
 *         tged_recset_builder_error()
 */
TGED_API int tged_recset_add(struct tged_recset_builder *b, const char *type,
                             size_t type_len, const struct tged_field *fields,
                             size_t nfields);

/** Declare a type that has no records (yet): lookups of it answer
 *  TGED_NO_MATCH rather than TGED_NOT_MINE. Adding records of it later is
 *  fine. 0, or -EINVAL / -ENOMEM with the reason in
 *  tged_recset_builder_error(). */
TGED_API int tged_recset_add_type(struct tged_recset_builder *b,
                                  const char *type, size_t type_len);

/** Why the last tged_recset_add() failed, naming the field; static until
 *  the next call on this builder. */
TGED_API const char *
tged_recset_builder_error(const struct tged_recset_builder *b);

/** Index the records and free the builder (always, even on failure).
 *  NULL when out of memory. */
TGED_API struct tged_recset *tged_recset_build(struct tged_recset_builder *b);

/** Free a builder that will not be built. */
TGED_API void tged_recset_builder_free(struct tged_recset_builder *b);

/** Answer a lookup from a set; returns an enum tged_lookup_status. */
TGED_API int tged_recset_lookup(const struct tged_recset *rs,
                                const struct tged_query *q,
                                struct tged_sink *sink);

TGED_API size_t tged_recset_count(const struct tged_recset *rs);
TGED_API size_t tged_recset_types(const struct tged_recset *rs);
/** Bytes the set uses, for logs and benchmarks. */
TGED_API size_t tged_recset_memory(const struct tged_recset *rs);
TGED_API void tged_recset_free(struct tged_recset *rs);

/* ------------------------------------------------------------------ */
/* Settings                                                            */

/** Types of a declared setting. */
enum tged_setting_type {
    TGED_SETTING_STRING = 1,
    TGED_SETTING_INT, /**< a libconfig integer (32 or 64 bit) */
    TGED_SETTING_BOOL,
    TGED_SETTING_PATH,  /**< a string; relative to the naming file's folder */
    TGED_SETTING_LIST,  /**< a list ( ... ) or array [ ... ] */
    TGED_SETTING_GROUP, /**< a group { ... } */
    TGED_SETTING_FLOAT, /**< a float or an integer */
};

/** Setting flags. */
enum {
    TGED_SETTING_REQUIRED = 1u << 0,
};

/** One key a plugin takes; an array of these ends with a zeroed entry. */
struct tged_setting {
    const char *name;
    int type; /**< enum tged_setting_type */
    unsigned flags;
    const char *help; /**< one line, shown by tgedd --check-plugin */
};

/*
 * Setting accessors. Valid during init() and reload() only, on the control
 * thread. tgedd has already checked that each setting present has the
 * declared type, so a getter returns the default only when the setting is
 * absent. Returned strings are owned by tgedd and live until close().
 */
TGED_API const char *tged_get_string(struct tged_instance *ctx,
                                     const char *name, const char *dflt);
/** An absolute path: relative values are resolved against the folder of
 *  the file that holds the setting. */
TGED_API const char *tged_get_path(struct tged_instance *ctx, const char *name,
                                   const char *dflt);
TGED_API long long tged_get_int(struct tged_instance *ctx, const char *name,
                                long long dflt);
TGED_API int tged_get_bool(struct tged_instance *ctx, const char *name,
                           int dflt);
TGED_API double tged_get_float(struct tged_instance *ctx, const char *name,
                               double dflt);
/** The node of a setting (any type: a LIST's or GROUP's contents, or a
 *  scalar's file and line for an error message), NULL when absent. */
TGED_API const struct tged_cfg *tged_get_cfg(struct tged_instance *ctx,
                                             const char *name);

/** The instance name (the backend's `name`), and the responder's limit on
 *  one answer; both stable for the instance's life. */
TGED_API const char *tged_instance_name(const struct tged_instance *ctx);
TGED_API size_t tged_max_reply_size(const struct tged_instance *ctx);

/* Configuration tree nodes, for LIST and GROUP settings and files read with
 * tged_cfg_read_file(). A node lives as long as the tree it came from. */
enum tged_cfg_kind {
    TGED_CFG_NONE = 0,
    TGED_CFG_INT,
    TGED_CFG_FLOAT,
    TGED_CFG_STRING,
    TGED_CFG_BOOL,
    TGED_CFG_GROUP,
    TGED_CFG_LIST, /**< lists and arrays alike */
};
TGED_API int tged_cfg_kind(const struct tged_cfg *node);
/** Member name (NULL for list elements). */
TGED_API const char *tged_cfg_name(const struct tged_cfg *node);
TGED_API size_t tged_cfg_count(const struct tged_cfg *node);
TGED_API const struct tged_cfg *tged_cfg_elem(const struct tged_cfg *node,
                                              size_t i);
TGED_API const struct tged_cfg *tged_cfg_member(const struct tged_cfg *node,
                                                const char *name);
TGED_API const char *tged_cfg_string(const struct tged_cfg *node);
TGED_API long long tged_cfg_int(const struct tged_cfg *node);
TGED_API double tged_cfg_float(const struct tged_cfg *node);
TGED_API int tged_cfg_bool(const struct tged_cfg *node);
/** Where the node was written, for error messages. */
TGED_API const char *tged_cfg_file(const struct tged_cfg *node);
TGED_API unsigned tged_cfg_line(const struct tged_cfg *node);

/** A configuration file read on its own (for plugins whose data is written
 *  in libconfig syntax, like `static`). */
struct tged_cfg_file;
/** Read and parse a libconfig file. On failure NULL, and err (of errlen
 *  bytes) says "file:line: what". */
TGED_API struct tged_cfg_file *tged_cfg_read_file(const char *path, char *err,
                                                  size_t errlen);
TGED_API const struct tged_cfg *tged_cfg_root(const struct tged_cfg_file *f);
TGED_API void tged_cfg_file_free(struct tged_cfg_file *f);

/* ------------------------------------------------------------------ */
/* Logging, live data, reloads                                         */

/** Log through tgedd (stderr in the foreground, else syslog) with the
 *  prefix "backend NAME (module): ". prio is a syslog priority. Any
 *  thread. */
TGED_API void tged_log(struct tged_instance *ctx, int prio, const char *fmt,
                       ...) TGED_PRINTF(3, 4);
TGED_API void tged_vlog(struct tged_instance *ctx, int prio, const char *fmt,
                        va_list ap);

/** Read the snapshot a plugin published, from lookup(). */
static inline void *tged_snapshot_get(void *const *slot)
{
    return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

/**
 * Announce new data: make `fresh` the plugin's current snapshot in *slot
 * (atomically), and have tgedd call destroy(old) once no lookup can still
 * be reading the old one. Lookups that started before see the old
 * snapshot whole; later ones see the new one whole. Any thread.
 * @param destroy  may be NULL when the old snapshot needs no freeing
 */
TGED_API void tged_snapshot_publish(struct tged_instance *ctx, void **slot,
                                    void *fresh, void (*destroy)(void *));

/**
 * Watch a file: when it is written, replaced by rename, deleted or
 * recreated, or its folder is replaced, tgedd calls the plugin's reload()
 * on the control thread (changes are coalesced for a few milliseconds).
 * Call from init(). Returns 0 or -errno.
 */
TGED_API int tged_watch(struct tged_instance *ctx, const char *path);

/** Have tgedd call reload() on the control thread after delay_ms (0: as
 *  soon as possible). Any thread. A pending earlier request is kept when it
 *  comes sooner. */
TGED_API void tged_reload_after(struct tged_instance *ctx, unsigned delay_ms);

/* ------------------------------------------------------------------ */
/* The descriptor                                                      */

struct tged_plugin {
    uint32_t abi;        /**< TGED_PLUGIN_ABI at build time */
    uint32_t size;       /**< sizeof(struct tged_plugin) at build time */
    const char *name;    /**< must equal the file name without ".so" */
    const char *version; /**< the plugin's own version, for logs */
    const char *description;
    /** The keys a backend block may hold besides `name` and `module`,
     *  ending with a zeroed entry. NULL: none. */
    const struct tged_setting *settings;

    /**
     * Create an instance: read settings, load data, publish a first
     * snapshot. On failure log why (file:line) and return -errno; close()
     * is then not called, so free what you made.
     */
    int (*init)(struct tged_instance *ctx, void **state);
    /** Answer a request: add records with tged_recset_lookup() or
     *  tged_sink_add_fields(), return an enum tged_lookup_status. */
    int (*lookup)(void *state, const struct tged_query *q,
                  struct tged_sink *sink);
    /** Optional. Re-read the source (after tged_watch() or
     *  tged_reload_after()). Read it whole and check it before publishing:
     *  on error log it, keep the old snapshot and return -errno. */
    int (*reload)(struct tged_instance *ctx, void *state);
    /** Free everything; no lookup is running or will run. */
    void (*close)(void *state);
};

/** Define the descriptor. Usage:
 *  TGED_PLUGIN(.name = "json", .version = "1.0", .init = ..., ...); */
#define TGED_PLUGIN(...)                                                       \
    TGED_API const struct tged_plugin tged_plugin = {                          \
        .abi = TGED_PLUGIN_ABI,                                                \
        .size = sizeof(struct tged_plugin),                                    \
        __VA_ARGS__}

#ifdef __cplusplus
}
#endif
#endif /* TGED_PLUGIN_H */

/* core/daemon/host.c - the services tgedd gives plugins: settings, logs,
 * snapshots, watches, reload requests.
 * SPDX-License-Identifier: MIT */
#include "host.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "qsbr.h"
#include "watch.h"

static void (*wakeup)(void);

void host_set_wakeup(void (*fn)(void))
{
    wakeup = fn;
}

struct tged_instance *instance_new(const char *name, struct module *mod,
                                   const config_setting_t *block,
                                   size_t max_reply_size)
{
    struct tged_instance *inst = calloc(1, sizeof(*inst));
    if (!inst || !(inst->name = strdup(name))) {
        free(inst);
        return NULL;
    }
    inst->mod = mod;
    inst->block = block;
    inst->max_reply_size = max_reply_size;
    snprintf(inst->prefix, sizeof(inst->prefix), "backend %s (%s): ", name,
             mod ? mod->name : "?");
    return inst;
}

void instance_free(struct tged_instance *inst)
{
    if (!inst)
        return;
    if (inst->live && inst->mod->desc->close)
        inst->mod->desc->close(inst->state);
    watch_forget(inst);
    for (size_t i = 0; i < inst->nowned; i++)
        free(inst->owned[i]);
    free(inst->owned);
    free(inst->name);
    free(inst);
}

void instance_reload_settle(struct tged_instance *inst, unsigned settle_ms,
                            unsigned max_ms)
{
    uint64_t now = now_ms();
    if (!inst->settle_start_ms)
        inst->settle_start_ms = now;
    uint64_t due = now + settle_ms;
    if (due > inst->settle_start_ms + max_ms)
        due = inst->settle_start_ms + max_ms > now
                  ? inst->settle_start_ms + max_ms
                  : now;
    __atomic_store_n(&inst->reload_due_ms, due ? due : 1, __ATOMIC_RELEASE);
    if (wakeup)
        wakeup();
}

void instance_reload(struct tged_instance *inst)
{
    inst->settle_start_ms = 0;
    if (!inst->live || !inst->mod->desc->reload)
        return;
    __atomic_add_fetch(&inst->stats.reloads, 1, __ATOMIC_RELAXED);
    inst->stats.last_reload_ms = now_ms();
    int rc = inst->mod->desc->reload(inst, inst->state);
    if (rc < 0) {
        __atomic_add_fetch(&inst->stats.reload_errors, 1, __ATOMIC_RELAXED);
        inst->stats.last_error_ms = inst->stats.last_reload_ms;
        log_warn("%sreload failed (%s); the data loaded before keeps serving",
                 inst->prefix, strerror(-rc));
    }
}

const char *setting_dir(const config_setting_t *s, char *buf, size_t len)
{
    const char *file = s ? config_setting_source_file(s) : NULL;
    if (!file) {
        snprintf(buf, len, ".");
        return buf;
    }
    /* libconfig names an @include'd file as written, relative to the
     * include folder (the main file's). */
    const char *inc = s->config ? s->config->include_dir : NULL;
    if (file[0] != '/' && inc)
        snprintf(buf, len, "%s/%s", inc, file);
    else
        snprintf(buf, len, "%s", file);
    char *slash = strrchr(buf, '/');
    if (!slash)
        snprintf(buf, len, ".");
    else if (slash == buf)
        buf[1] = '\0';
    else
        *slash = '\0';
    return buf;
}

char *path_join(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !dir[0])
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, path);
    return p;
}

/* ---- settings ---------------------------------------------------- */

static const config_setting_t *get(struct tged_instance *ctx, const char *name)
{
    return ctx->block ? config_setting_get_member(ctx->block, name) : NULL;
}

TGED_API const char *tged_get_string(struct tged_instance *ctx,
                                     const char *name, const char *dflt)
{
    const config_setting_t *s = get(ctx, name);
    const char *v = s ? config_setting_get_string(s) : NULL;
    return v ? v : dflt;
}

TGED_API const char *tged_get_path(struct tged_instance *ctx, const char *name,
                                   const char *dflt)
{
    const config_setting_t *s = get(ctx, name);
    const char *v = s ? config_setting_get_string(s) : NULL;
    if (!v)
        v = dflt;
    if (!v)
        return NULL;
    char dir[PATH_MAX];
    setting_dir(s ? s : ctx->block, dir, sizeof(dir));
    char *p = path_join(dir, v);
    char **owned =
        p ? realloc(ctx->owned, (ctx->nowned + 1) * sizeof(char *)) : NULL;
    if (!owned) {
        free(p);
        tged_log(ctx, LOG_ERR, "out of memory");
        return NULL;
    }
    ctx->owned = owned;
    ctx->owned[ctx->nowned++] = p;
    return p;
}

TGED_API long long tged_get_int(struct tged_instance *ctx, const char *name,
                                long long dflt)
{
    const config_setting_t *s = get(ctx, name);
    return s ? config_setting_get_int64(s) : dflt;
}

TGED_API int tged_get_bool(struct tged_instance *ctx, const char *name,
                           int dflt)
{
    const config_setting_t *s = get(ctx, name);
    return s ? config_setting_get_bool(s) : dflt;
}

TGED_API double tged_get_float(struct tged_instance *ctx, const char *name,
                               double dflt)
{
    const config_setting_t *s = get(ctx, name);
    if (!s)
        return dflt;
    if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
        return config_setting_get_float(s);
    return (double)config_setting_get_int64(s);
}

TGED_API const struct tged_cfg *tged_get_cfg(struct tged_instance *ctx,
                                             const char *name)
{
    return (const struct tged_cfg *)get(ctx, name);
}

TGED_API const char *tged_instance_name(const struct tged_instance *ctx)
{
    return ctx->name;
}

TGED_API size_t tged_max_reply_size(const struct tged_instance *ctx)
{
    return ctx->max_reply_size;
}

/* ---- configuration tree nodes -------------------------------------- */

#define NODE(n) ((const config_setting_t *)(n))

TGED_API int tged_cfg_kind(const struct tged_cfg *n)
{
    if (!n)
        return TGED_CFG_NONE;
    switch (config_setting_type(NODE(n))) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return TGED_CFG_INT;
    case CONFIG_TYPE_FLOAT:
        return TGED_CFG_FLOAT;
    case CONFIG_TYPE_STRING:
        return TGED_CFG_STRING;
    case CONFIG_TYPE_BOOL:
        return TGED_CFG_BOOL;
    case CONFIG_TYPE_GROUP:
        return TGED_CFG_GROUP;
    case CONFIG_TYPE_LIST:
    case CONFIG_TYPE_ARRAY:
        return TGED_CFG_LIST;
    default:
        return TGED_CFG_NONE;
    }
}

TGED_API const char *tged_cfg_name(const struct tged_cfg *n)
{
    return n ? config_setting_name(NODE(n)) : NULL;
}

TGED_API size_t tged_cfg_count(const struct tged_cfg *n)
{
    int k = tged_cfg_kind(n);
    if (k != TGED_CFG_GROUP && k != TGED_CFG_LIST)
        return 0;
    return (size_t)config_setting_length(NODE(n));
}

TGED_API const struct tged_cfg *tged_cfg_elem(const struct tged_cfg *n,
                                              size_t i)
{
    if (i >= tged_cfg_count(n))
        return NULL;
    return (const struct tged_cfg *)config_setting_get_elem(NODE(n),
                                                            (unsigned)i);
}

TGED_API const struct tged_cfg *tged_cfg_member(const struct tged_cfg *n,
                                                const char *name)
{
    if (tged_cfg_kind(n) != TGED_CFG_GROUP)
        return NULL;
    return (const struct tged_cfg *)config_setting_get_member(NODE(n), name);
}

TGED_API const char *tged_cfg_string(const struct tged_cfg *n)
{
    return tged_cfg_kind(n) == TGED_CFG_STRING
               ? config_setting_get_string(NODE(n))
               : NULL;
}

TGED_API long long tged_cfg_int(const struct tged_cfg *n)
{
    return tged_cfg_kind(n) == TGED_CFG_INT ? config_setting_get_int64(NODE(n))
                                            : 0;
}

TGED_API double tged_cfg_float(const struct tged_cfg *n)
{
    int k = tged_cfg_kind(n);
    if (k == TGED_CFG_FLOAT)
        return config_setting_get_float(NODE(n));
    return k == TGED_CFG_INT ? (double)config_setting_get_int64(NODE(n)) : 0;
}

TGED_API int tged_cfg_bool(const struct tged_cfg *n)
{
    return tged_cfg_kind(n) == TGED_CFG_BOOL ? config_setting_get_bool(NODE(n))
                                             : 0;
}

TGED_API const char *tged_cfg_file(const struct tged_cfg *n)
{
    const char *f = n ? config_setting_source_file(NODE(n)) : NULL;
    return f ? f : "(configuration)";
}

TGED_API unsigned tged_cfg_line(const struct tged_cfg *n)
{
    return n ? config_setting_source_line(NODE(n)) : 0;
}

struct tged_cfg_file {
    config_t cfg;
};

TGED_API struct tged_cfg_file *tged_cfg_read_file(const char *path, char *err,
                                                  size_t errlen)
{
    struct tged_cfg_file *f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    config_init(&f->cfg);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        config_set_include_dir(&f->cfg, dir[0] ? dir : "/");
    }
    if (conf_check_includes(path, config_get_include_dir(&f->cfg), 0, err,
                            errlen)) {
        config_destroy(&f->cfg);
        free(f);
        return NULL;
    }
    if (config_read_file(&f->cfg, path) != CONFIG_TRUE) {
        if (config_error_type(&f->cfg) == CONFIG_ERR_FILE_IO)
            snprintf(err, errlen, "%s: cannot read: %s", path,
                     strerror(errno ? errno : EIO));
        else
            snprintf(err, errlen, "%s:%d: %s",
                     config_error_file(&f->cfg) ? config_error_file(&f->cfg)
                                                : path,
                     config_error_line(&f->cfg), config_error_text(&f->cfg));
        config_destroy(&f->cfg);
        free(f);
        return NULL;
    }
    return f;
}

TGED_API const struct tged_cfg *tged_cfg_root(const struct tged_cfg_file *f)
{
    return (const struct tged_cfg *)config_root_setting(&f->cfg);
}

TGED_API void tged_cfg_file_free(struct tged_cfg_file *f)
{
    if (!f)
        return;
    config_destroy(&f->cfg);
    free(f);
}

/* ---- logs, snapshots, reloads -------------------------------------- */

TGED_API void tged_vlog(struct tged_instance *ctx, int prio, const char *fmt,
                        va_list ap)
{
    log_vmsg(prio, ctx ? ctx->prefix : "plugin: ", fmt, ap);
}

TGED_API void tged_log(struct tged_instance *ctx, int prio, const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    tged_vlog(ctx, prio, fmt, ap);
    va_end(ap);
}

TGED_API void tged_snapshot_publish(struct tged_instance *ctx, void **slot,
                                    void *fresh, void (*destroy)(void *))
{
    void *old = __atomic_exchange_n(slot, fresh, __ATOMIC_SEQ_CST);
    if (ctx)
        __atomic_add_fetch(&ctx->stats.publishes, 1, __ATOMIC_RELAXED);
    if (old && destroy)
        qsbr_retire(old, destroy);
}

TGED_API int tged_watch(struct tged_instance *ctx, const char *path)
{
    if (!ctx->watching)
        return 0;
    return watch_add(ctx, path);
}

TGED_API void tged_reload_after(struct tged_instance *ctx, unsigned delay_ms)
{
    uint64_t due = now_ms() + delay_ms;
    if (due == 0)
        due = 1;
    uint64_t cur = __atomic_load_n(&ctx->reload_due_ms, __ATOMIC_RELAXED);
    while (cur == 0 || due < cur) {
        if (__atomic_compare_exchange_n(&ctx->reload_due_ms, &cur, due, 0,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            break;
    }
    if (wakeup)
        wakeup();
}

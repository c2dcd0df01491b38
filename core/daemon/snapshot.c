/* core/daemon/snapshot.c - building one configuration snapshot.
 * SPDX-License-Identifier: MIT */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "loader.h"
#include "log.h"
#include "privdrop.h"
#include "qsbr.h"
#include "udp.h"

static const struct key_spec top_keys[] = {
    {"responder", TGED_SETTING_GROUP, 0}, {"plugin_dir", TGED_SETTING_PATH, 0},
    {"backends", TGED_SETTING_LIST, 0},   {"routes", TGED_SETTING_LIST, 0},
    {"conf_dir", TGED_SETTING_PATH, 0},   {0},
};

/* What a file of conf_dir may hold: a package adds backends and routes. */
static const struct key_spec drop_keys[] = {
    {"backends", TGED_SETTING_LIST, 0},
    {"routes", TGED_SETTING_LIST, 0},
    {0},
};

static const struct key_spec responder_keys[] = {
    {"listen", TGED_SETTING_LIST, 0},
    {"max_replies", TGED_SETTING_INT, 0},
    {"max_reply_size", TGED_SETTING_INT, 0},
    {"answer_unknown", TGED_SETTING_BOOL, 0},
    {"workers", TGED_SETTING_INT, 0},
    {"log_level", TGED_SETTING_STRING, 0},
    {"control", TGED_SETTING_PATH, 0},
    {"allow", TGED_SETTING_LIST, 0},
    {"deny", TGED_SETTING_LIST, 0},
    {"on_link_only", TGED_SETTING_BOOL, 0},
    {"rate_limit", TGED_SETTING_GROUP, 0},
    {"user", TGED_SETTING_STRING, 0},
    {"group", TGED_SETTING_STRING, 0},
    {"run_as_root", TGED_SETTING_BOOL, 0},
    {"keys", TGED_SETTING_PATH, 0},
    {"auth_window", TGED_SETTING_INT, 0},
    {0},
};

static const struct key_spec rate_keys[] = {
    {"requests", TGED_SETTING_FLOAT, 0},
    {"burst", TGED_SETTING_FLOAT, 0},
    {"bytes", TGED_SETTING_FLOAT, 0},
    {"exempt", TGED_SETTING_LIST, 0},
    {0},
};

static const struct key_spec backend_keys[] = {
    {"name", TGED_SETTING_STRING, TGED_SETTING_REQUIRED},
    {"module", TGED_SETTING_STRING, TGED_SETTING_REQUIRED},
    {0},
};

static const char *const default_listen[] = {"0.0.0.0:4745", "[::]:4745"};

static int int_in(const config_setting_t *grp, const char *name, long long lo,
                  long long hi, long long dflt, long long *out)
{
    const config_setting_t *s =
        grp ? config_setting_get_member(grp, name) : NULL;
    *out = dflt;
    if (!s)
        return 0;
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi) {
        conf_err(s, "responder.%s must be from %lld to %lld, not %lld", name,
                 lo, hi, v);
        return -1;
    }
    *out = v;
    return 0;
}

static int level_of(const char *s)
{
    static const char *const names[] = {"error", "warning", "notice", "info",
                                        "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
                               LOG_DEBUG};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i]))
            return prio[i];
    return -1;
}

static int read_responder(struct snapshot *s, const config_setting_t *r)
{
    struct settings *set = &s->set;
    int bad = 0;
    if (r && conf_check_keys(r, "responder", responder_keys, NULL,
                             "(see tged.conf(5) for the responder's "
                             "settings)"))
        return -1;
    long long v;
    bad |= int_in(r, "max_replies", 1, 1024, 8, &v);
    set->max_replies = (size_t)v;
    bad |= int_in(r, "max_reply_size", 512, TGED_MAX_DATAGRAM,
                  TGED_DEFAULT_REPLY_SIZE, &v);
    set->max_reply_size = (size_t)v;
    bad |= int_in(r, "workers", 1, 64, 1, &v);
    set->workers = (unsigned)v;
    long long window;
    bad |= int_in(r, "auth_window", 1, 3600, TGED_AUTH_WINDOW, &window);
    set->answer_unknown = 1;
    const config_setting_t *au =
        r ? config_setting_get_member(r, "answer_unknown") : NULL;
    if (au)
        set->answer_unknown = config_setting_get_bool(au);
    set->log_level = -1;
    const char *lvl = NULL;
    if (r && config_setting_lookup_string(r, "log_level", &lvl)) {
        set->log_level = level_of(lvl);
        if (set->log_level < 0) {
            conf_err(config_setting_get_member(r, "log_level"),
                     "responder.log_level must be error, warning, notice, "
                     "info or debug, not \"%s\"",
                     lvl);
            bad = 1;
        }
    }
    if (acl_read(&set->acl, r, "responder", 1))
        bad = 1;
    const config_setting_t *rl =
        r ? config_setting_get_member(r, "rate_limit") : NULL;
    if ((rl && conf_check_keys(rl, "responder.rate_limit", rate_keys, NULL,
                               "(it takes requests, burst, bytes, exempt)")) ||
        rl_conf_read(&set->rl, rl))
        bad = 1;
    if (r) {
        config_setting_lookup_string(r, "user", &set->user);
        config_setting_lookup_string(r, "group", &set->group);
        config_setting_lookup_bool(r, "run_as_root", &set->run_as_root);
        if (set->user && !set->user[0])
            set->user = NULL;
    }
    if (privdrop_check(set))
        bad = 1;
    const config_setting_t *ks =
        r ? config_setting_get_member(r, "keys") : NULL;
    if (ks && config_setting_get_string(ks)[0] && !bad &&
        !(set->keys = keyring_load(ks, (unsigned)window)))
        bad = 1;
    set->control = TGED_CONTROL_PATH;
    const config_setting_t *ctl =
        r ? config_setting_get_member(r, "control") : NULL;
    if (ctl) {
        const char *path = config_setting_get_string(ctl);
        char dir[PATH_MAX];
        s->control = path[0]
                         ? path_join(setting_dir(ctl, dir, sizeof(dir)), path)
                         : strdup("");
        if (!s->control)
            return -1;
        set->control = s->control;
    }
    const config_setting_t *l =
        r ? config_setting_get_member(r, "listen") : NULL;
    size_t n = l ? (size_t)config_setting_length(l) : 2;
    set->listen = calloc(n ? n : 1, sizeof(char *));
    if (!set->listen)
        return -1;
    if (l && n == 0) {
        conf_err(l, "responder.listen names no address");
        bad = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e =
            l ? config_setting_get_elem(l, (unsigned)i) : NULL;
        const char *a = e ? config_setting_get_string(e) : default_listen[i];
        struct listen_addr la;
        if (!a) {
            conf_err(e, "responder.listen: each address must be a string");
            bad = 1;
            continue;
        }
        if (udp_parse_listen(a, &la) != 0) {
            conf_err(e,
                     "responder.listen: '%s' is not ADDR, ADDR:PORT or "
                     "[ADDR6]:PORT with a numeric address",
                     a);
            bad = 1;
            continue;
        }
        if (!(set->listen[set->nlisten++] = strdup(a)))
            return -1;
    }
    return bad ? -1 : 0;
}

/* Check a backend block, open its module and start the instance. */
static int start_backend(struct snapshot *s, const config_setting_t *b,
                         int serving)
{
    const char *name = NULL, *module = NULL;
    if (!config_setting_is_group(b)) {
        conf_err(b, "backends: each backend must be a group { name = ...; "
                    "module = ...; }");
        return -1;
    }
    config_setting_lookup_string(b, "name", &name);
    config_setting_lookup_string(b, "module", &module);
    if (!name || !module) {
        conf_err(b, "backend: 'name' and 'module' (strings) are required");
        return -1;
    }
    size_t nl = strlen(name);
    if (!tged_type_valid(name, nl)) {
        conf_err(config_setting_get_member(b, "name"),
                 "backend: name '%s' is not valid (1 to 63 of A-Z a-z 0-9 . "
                 "_ -)",
                 name);
        return -1;
    }
    for (size_t i = 0; i < s->nbackends; i++)
        if (!strcmp(s->backends[i]->name, name)) {
            conf_err(config_setting_get_member(b, "name"),
                     "backend '%s': the name is used by another backend", name);
            return -1;
        }
    struct module *m;
    if (loader_open(&s->modules, module, s->plugin_dir,
                    config_setting_get_member(b, "module"), &m))
        return -1;
    char what[96], hint[512];
    snprintf(what, sizeof(what), "backend '%s'", name);
    size_t at =
        (size_t)snprintf(hint, sizeof(hint), "(module %s takes:", m->name);
    const struct tged_setting *ks = m->desc->settings;
    for (const struct tged_setting *k = ks; k && k->name && at < sizeof(hint);
         k++)
        at += (size_t)snprintf(hint + at, sizeof(hint) - at, "%s %s",
                               k == ks ? "" : ",", k->name);
    if (at < sizeof(hint))
        snprintf(hint + at, sizeof(hint) - at, "%s)",
                 ks && ks->name ? "" : " nothing more");
    if (conf_check_keys(b, what, backend_keys, ks, hint))
        return -1;

    struct tged_instance *inst =
        instance_new(name, m, b, s->set.max_reply_size);
    if (!inst)
        return -1;
    inst->watching = serving;
    s->backends[s->nbackends++] = inst;
    int rc = m->desc->init(inst, &inst->state);
    if (rc < 0) {
        conf_err(b, "backend '%s': module %s: init failed: %s", name, m->path,
                 strerror(-rc));
        return -1;
    }
    inst->live = 1;
    return 0;
}

/* The backend and route groups of every file, in reading order. */
struct parts {
    const config_setting_t **backends, **routes;
    size_t nbackends, nroutes;
    int have_routes;
};

static int append(const config_setting_t ***v, size_t *n,
                  const config_setting_t *list)
{
    unsigned len = (unsigned)config_setting_length(list);
    const config_setting_t **nv = realloc(*v, (*n + len + 1) * sizeof(**v));
    if (!nv)
        return -1;
    *v = nv;
    for (unsigned i = 0; i < len; i++)
        nv[(*n)++] = config_setting_get_elem(list, i);
    return 0;
}

static int collect(struct parts *p, const config_setting_t *root)
{
    const config_setting_t *b = config_setting_get_member(root, "backends");
    const config_setting_t *r = config_setting_get_member(root, "routes");
    if (b && !config_setting_is_list(b)) {
        conf_err(b, "backends must be a list ( { name = ...; module = ...; "
                    "}, ... )");
        return -1;
    }
    if (r && !config_setting_is_list(r)) {
        conf_err(r, "routes must be a list ( { type = ...; backends = "
                    "(...); }, ... )");
        return -1;
    }
    if ((b && append(&p->backends, &p->nbackends, b)) ||
        (r && append(&p->routes, &p->nroutes, r)))
        return -1;
    if (r)
        p->have_routes = 1;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int conf_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

/* Read the *.conf files of conf_dir in name order. A missing folder is
 * fine (nothing dropped in); an unreadable one is not. */
static int read_drop_dir(struct snapshot *s, const char *dir, struct parts *p,
                         int explicit)
{
    struct dirent **names;
    int n = scandir(dir, &names, conf_file, by_name);
    if (n < 0) {
        if (errno == ENOENT && !explicit)
            return 0;
        log_err("%s: cannot read the folder of configuration files: %s", dir,
                strerror(errno));
        return -1;
    }
    int bad = 0;
    s->drop = calloc((size_t)n + 1, sizeof(*s->drop));
    if (!s->drop)
        bad = 1;
    for (int i = 0; i < n; i++) {
        if (!bad) {
            char *file = path_join(dir, names[i]->d_name);
            config_t *c = &s->drop[s->ndrop];
            config_init(c);
            s->ndrop++;
            if (!file || conf_read(c, file) ||
                conf_check_keys(config_root_setting(c), "configuration",
                                drop_keys, NULL,
                                "(a file of conf_dir takes backends and "
                                "routes)") ||
                collect(p, config_root_setting(c)))
                bad = 1;
            free(file);
        }
        free(names[i]);
    }
    free(names);
    return bad ? -1 : 0;
}

struct snapshot *snapshot_load(const char *path, int serving)
{
    struct parts parts = {0};
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    config_init(&s->cfg);
    if (!(s->path = strdup(path)) || conf_read(&s->cfg, path))
        goto fail;
    const config_setting_t *root = config_root_setting(&s->cfg);
    if (conf_check_keys(root, "configuration", top_keys, NULL,
                        "(the top level takes responder, plugin_dir, "
                        "conf_dir, backends, routes)"))
        goto fail;
    if (read_responder(s, config_setting_get_member(root, "responder")))
        goto fail;
    const config_setting_t *pd = config_setting_get_member(root, "plugin_dir");
    char dir[PATH_MAX];
    s->plugin_dir = pd ? path_join(setting_dir(pd, dir, sizeof(dir)),
                                   config_setting_get_string(pd))
                       : strdup(loader_default_dir());
    if (!s->plugin_dir)
        goto fail;

    if (collect(&parts, root))
        goto fail;
    const config_setting_t *cd = config_setting_get_member(root, "conf_dir");
    char main_dir[PATH_MAX];
    snprintf(main_dir, sizeof(main_dir), "%s", path);
    char *slash = strrchr(main_dir, '/');
    if (slash)
        *slash = '\0';
    char *drop_dir = path_join(cd ? setting_dir(cd, dir, sizeof(dir))
                                  : (slash ? main_dir : "."),
                               cd ? config_setting_get_string(cd) : "conf.d");
    if (!drop_dir || read_drop_dir(s, drop_dir, &parts, cd != NULL)) {
        free(drop_dir);
        goto fail;
    }
    free(drop_dir);
    if (parts.nbackends == 0) {
        log_err("%s: no backend: the configuration (or a file of conf_dir) "
                "needs backends = ( { name = ...; module = ...; } )",
                path);
        goto fail;
    }
    s->backends = calloc(parts.nbackends, sizeof(*s->backends));
    if (!s->backends)
        goto fail;
    int bad = 0;
    for (size_t i = 0; i < parts.nbackends; i++)
        if (start_backend(s, parts.backends[i], serving))
            bad = 1;
    if (bad)
        goto fail;
    if (router_build(&s->router, parts.routes, parts.nroutes, parts.have_routes,
                     s->backends, s->nbackends, s->set.keys != NULL))
        goto fail;
    free(parts.backends);
    free(parts.routes);
    return s;
fail:
    free(parts.backends);
    free(parts.routes);
    snapshot_free(s);
    return NULL;
}

static void close_modules(void *list)
{
    loader_close_all(list);
}

void snapshot_free(void *p)
{
    struct snapshot *s = p;
    if (!s)
        return;
    router_free(&s->router);
    for (size_t i = s->nbackends; i-- > 0;)
        instance_free(s->backends[i]);
    free(s->backends);
    /* Data a plugin retired before close() may still be waiting for its
     * grace period, with its destructor in the plugin: unload the plugins
     * only after that, by retiring them too (later, so freed later). */
    struct module *mods = s->modules;
    s->modules = NULL;
    if (mods)
        qsbr_retire(mods, close_modules);
    acl_free(&s->set.acl);
    rl_conf_free(&s->set.rl);
    keyring_free(s->set.keys);
    for (size_t i = 0; i < s->set.nlisten; i++)
        free(s->set.listen[i]);
    free(s->set.listen);
    free(s->plugin_dir);
    free(s->control);
    free(s->path);
    for (size_t i = 0; i < s->ndrop; i++)
        config_destroy(&s->drop[i]);
    free(s->drop);
    config_destroy(&s->cfg);
    free(s);
}

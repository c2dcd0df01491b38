/* core/daemon/loader.c - opening plugin files and checking them.
 * SPDX-License-Identifier: MIT */
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

const char *loader_default_dir(void)
{
    /* The same binary is installed as built, so where it runs from is the
     * only way to tell a build tree from an installation. */
    static char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        if (!strcmp(exe, TGED_BUILD_BIN_DIR "/tgedd") ||
            !strncmp(exe, TGED_BUILD_BIN_DIR "/", sizeof(TGED_BUILD_BIN_DIR)))
            return TGED_BUILD_PLUGIN_DIR;
    }
    return TGED_PLUGIN_DIR;
}

/* The file name without folder and ".so". */
static void stem(const char *path, char *buf, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t l = strnlen(b, len - 1);
    memcpy(buf, b, l);
    buf[l] = '\0';
    if (l > 3 && !strcmp(buf + l - 3, ".so"))
        buf[l - 3] = '\0';
}

/* The common checks; on failure `why` says what is wrong. */
static void *open_checked(const char *path, const struct tged_plugin **desc,
                          char *why, size_t whylen)
{
    if (access(path, R_OK) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, whylen, "cannot load: %s", e ? e : "unknown error");
        return NULL;
    }
    const struct tged_plugin *d = dlsym(h, "tged_plugin");
    if (!d) {
        snprintf(why, whylen,
                 "no 'tged_plugin' descriptor: not a tged plugin (made with "
                 "TGED_PLUGIN() from <tged/plugin.h>?)");
        goto refuse;
    }
    if (d->abi != TGED_PLUGIN_ABI) {
        snprintf(why, whylen,
                 "built for plugin ABI %u, this tgedd has ABI %u: rebuild "
                 "it against this tged's <tged/plugin.h>",
                 d->abi, TGED_PLUGIN_ABI);
        goto refuse;
    }
    if (d->size < offsetof(struct tged_plugin, close) + sizeof(d->close)) {
        snprintf(why, whylen, "descriptor is too small (%u bytes)", d->size);
        goto refuse;
    }
    char name[NAME_MAX + 1];
    stem(path, name, sizeof(name));
    if (!d->name || strcmp(d->name, name) != 0) {
        snprintf(why, whylen,
                 "descriptor names the plugin '%s', but the file is '%s.so'",
                 d->name ? d->name : "(null)", name);
        goto refuse;
    }
    if (!d->init || !d->lookup) {
        snprintf(why, whylen, "descriptor has no %s function",
                 !d->init ? "init" : "lookup");
        goto refuse;
    }
    for (const struct tged_setting *s = d->settings; s && s->name; s++) {
        if (!strcmp(s->name, "name") || !strcmp(s->name, "module") ||
            s->type < TGED_SETTING_STRING || s->type > TGED_SETTING_FLOAT) {
            snprintf(why, whylen,
                     "declares setting '%s', which is reserved or of an "
                     "unknown type",
                     s->name);
            goto refuse;
        }
    }
    *desc = d;
    return h;
refuse:
    dlclose(h);
    return NULL;
}

int loader_open(struct module **list, const char *module,
                const char *plugin_dir, const config_setting_t *where,
                struct module **out)
{
    char path[PATH_MAX];
    if (strchr(module, '/')) {
        char dir[PATH_MAX];
        char *p = path_join(setting_dir(where, dir, sizeof(dir)), module);
        snprintf(path, sizeof(path), "%s", p ? p : module);
        free(p);
    } else {
        snprintf(path, sizeof(path), "%s/%s.so", plugin_dir, module);
    }
    char name[NAME_MAX + 1];
    stem(path, name, sizeof(name));
    for (struct module *m = *list; m; m = m->next) {
        if (!strcmp(m->path, path)) {
            *out = m;
            return 0;
        }
        if (!strcmp(m->name, name)) {
            conf_err(where,
                     "module %s: a plugin named '%s' is already loaded from "
                     "%s",
                     path, name, m->path);
            return -1;
        }
    }
    const struct tged_plugin *desc = NULL;
    char why[512];
    void *h = open_checked(path, &desc, why, sizeof(why));
    if (!h) {
        conf_err(where, "module %s: %s", path, why);
        return -1;
    }
    struct module *m = calloc(1, sizeof(*m));
    if (!m || !(m->name = strdup(name)) || !(m->path = strdup(path))) {
        if (m)
            free(m->name);
        free(m);
        dlclose(h);
        conf_err(where, "module %s: out of memory", path);
        return -1;
    }
    m->handle = h;
    m->desc = desc;
    m->next = *list;
    *list = m;
    *out = m;
    log_debug("loaded plugin %s %s from %s", desc->name,
              desc->version ? desc->version : "", path);
    return 0;
}

void loader_close_all(struct module *list)
{
    while (list) {
        struct module *n = list->next;
        dlclose(list->handle);
        free(list->name);
        free(list->path);
        free(list);
        list = n;
    }
}

int loader_check_file(const char *path)
{
    const struct tged_plugin *d = NULL;
    char why[512];
    void *h = open_checked(path, &d, why, sizeof(why));
    if (!h) {
        fprintf(stderr, "%s: %s\n", path, why);
        return -1;
    }
    printf("%s: plugin '%s' %s, ABI %u\n", path, d->name,
           d->version ? d->version : "(no version)", d->abi);
    if (d->description)
        printf("  %s\n", d->description);
    printf("  functions: init lookup%s%s\n", d->reload ? " reload" : "",
           d->close ? " close" : "");
    printf("  settings:%s\n", d->settings && d->settings->name ? "" : " none");
    for (const struct tged_setting *s = d->settings; s && s->name; s++)
        printf("    %-16s %s%s%s%s\n", s->name, conf_type_name(s->type),
               s->flags & TGED_SETTING_REQUIRED ? ", required" : "",
               s->help ? ": " : "", s->help ? s->help : "");
    dlclose(h);
    return 0;
}

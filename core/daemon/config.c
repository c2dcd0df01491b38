/* core/daemon/config.c - reading and checking libconfig files.
 * SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

void conf_err(const config_setting_t *s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *file = s ? config_setting_source_file(s) : NULL;
    log_err("%s:%u: %s", file ? file : "(configuration)",
            s ? config_setting_source_line(s) : 0, msg);
}

/* libconfig 1.5's scanner calls exit() when a file it includes cannot be
 * read as one (a folder: `@include ""` names the include folder itself).
 * So every @include line, and theirs in turn, must name a regular file
 * before libconfig sees the text. 0, or -1 with err filled. */
int conf_check_includes(const char *path, const char *incdir, int depth,
                        char *err, size_t errlen)
{
    if (depth > 10) {
        snprintf(err, errlen, "%s: @include nested too deep", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* libconfig says why, without exiting */
    char line[4096];
    unsigned lineno = 0;
    int rc = 0;
    while (!rc && fgets(line, sizeof(line), f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "@include", 8) != 0)
            continue;
        char *q = strchr(p + 8, '"');
        if (!q)
            continue; /* not an include libconfig would follow */
        /* The name libconfig uses ends at the quote, or at a NUL byte
         * inside the quotes (it keeps the name as a C string). */
        q[1 + strcspn(q + 1, "\"\n")] = '\0';
        char inc[PATH_MAX];
        /* libconfig 1.5 puts the include folder before every name. */
        snprintf(inc, sizeof(inc), "%s%s%s", incdir ? incdir : "",
                 incdir ? "/" : "", q + 1);
        struct stat st;
        if (stat(inc, &st) == 0 && !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "%.256s:%u: @include \"%.200s\": not a file",
                     path, lineno, q + 1);
            rc = -1;
        } else if (stat(inc, &st) == 0) {
            rc = conf_check_includes(inc, incdir, depth + 1, err, errlen);
        }
    }
    fclose(f);
    return rc;
}

int conf_read(config_t *cfg, const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        /* @include paths are relative to the including file's folder. */
        config_set_include_dir(cfg, dir[0] ? dir : "/");
    }
    char err[512];
    if (conf_check_includes(path, config_get_include_dir(cfg), 0, err,
                            sizeof(err))) {
        log_err("%s", err);
        return -1;
    }
    errno = 0;
    if (config_read_file(cfg, path) == CONFIG_TRUE)
        return 0;
    if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
        log_err("%s: cannot read the configuration: %s", path,
                strerror(errno ? errno : ENOENT));
    else
        log_err("%s:%d: %s",
                config_error_file(cfg) ? config_error_file(cfg) : path,
                config_error_line(cfg), config_error_text(cfg));
    return -1;
}

const char *conf_type_name(int type)
{
    switch (type) {
    case TGED_SETTING_STRING:
        return "a string";
    case TGED_SETTING_PATH:
        return "a string (a path)";
    case TGED_SETTING_INT:
        return "an integer";
    case TGED_SETTING_BOOL:
        return "true or false";
    case TGED_SETTING_LIST:
        return "a list ( ... ) or array [ ... ]";
    case TGED_SETTING_GROUP:
        return "a group { ... }";
    case TGED_SETTING_FLOAT:
        return "a number";
    default:
        return "?";
    }
}

static int type_fits(const config_setting_t *s, int type)
{
    int t = config_setting_type(s);
    switch (type) {
    case TGED_SETTING_STRING:
    case TGED_SETTING_PATH:
        return t == CONFIG_TYPE_STRING;
    case TGED_SETTING_INT:
        return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    case TGED_SETTING_BOOL:
        return t == CONFIG_TYPE_BOOL;
    case TGED_SETTING_LIST:
        return t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY;
    case TGED_SETTING_GROUP:
        return t == CONFIG_TYPE_GROUP;
    case TGED_SETTING_FLOAT:
        return t == CONFIG_TYPE_FLOAT || t == CONFIG_TYPE_INT ||
               t == CONFIG_TYPE_INT64;
    default:
        return 0;
    }
}

const char *conf_path(const config_setting_t *s, char *buf, size_t len)
{
    const char *parts[16];
    int idx[16];
    int n = 0;
    for (const config_setting_t *p = s; p && p->parent && n < 16;
         p = p->parent) {
        parts[n] = config_setting_name(p);
        idx[n] = config_setting_index(p);
        n++;
    }
    size_t at = 0;
    buf[0] = '\0';
    for (int i = n - 1; i >= 0 && at < len; i--) {
        int w;
        if (parts[i])
            w = snprintf(buf + at, len - at, "%s%s", at ? "." : "", parts[i]);
        else
            w = snprintf(buf + at, len - at, "[%d]", idx[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return buf;
}

int conf_check_keys(const config_setting_t *group, const char *what,
                    const struct key_spec *keys,
                    const struct tged_setting *extra, const char *hint)
{
    int bad = 0;
    unsigned n = (unsigned)config_setting_length(group);
    for (unsigned i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, i);
        const char *name = config_setting_name(s);
        int type = 0;
        for (const struct key_spec *k = keys; k && k->name; k++)
            if (!strcmp(k->name, name))
                type = k->type;
        for (const struct tged_setting *k = extra; !type && k && k->name; k++)
            if (!strcmp(k->name, name))
                type = k->type;
        if (!type) {
            conf_err(s, "%s: unknown setting '%s'%s%s", what, name,
                     hint ? " " : "", hint ? hint : "");
            bad = 1;
        } else if (!type_fits(s, type)) {
            conf_err(s, "%s: setting '%s' must be %s", what, name,
                     conf_type_name(type));
            bad = 1;
        }
    }
    for (const struct key_spec *k = keys; k && k->name; k++)
        if ((k->flags & TGED_SETTING_REQUIRED) &&
            !config_setting_get_member(group, k->name)) {
            conf_err(group, "%s: setting '%s' is required", what, k->name);
            bad = 1;
        }
    for (const struct tged_setting *k = extra; k && k->name; k++)
        if ((k->flags & TGED_SETTING_REQUIRED) &&
            !config_setting_get_member(group, k->name)) {
            conf_err(group, "%s: setting '%s' is required", what, k->name);
            bad = 1;
        }
    return bad ? -1 : 0;
}

/* core/daemon/config.h - reading and checking libconfig files. */
#ifndef TGEDD_CONFIG_H
#define TGEDD_CONFIG_H

#include <libconfig.h>

#include <tged/plugin.h>

/* A key a group may hold; arrays end with a zeroed entry. Types are those
 * of enum tged_setting_type. */
struct key_spec {
    const char *name;
    int type;
    unsigned flags; /* TGED_SETTING_REQUIRED */
};

/* Log "file:line: message" for a setting. */
void conf_err(const config_setting_t *s, const char *fmt, ...)
    TGED_PRINTF(2, 3);

/* Check that every @include of a file (and of what it includes) names a
 * regular file; 0, or -1 with "file:line: ..." in err. */
int conf_check_includes(const char *path, const char *incdir, int depth,
                        char *err, size_t errlen);

/* Read a file; on error log "file:line: what" and return -1. */
int conf_read(config_t *cfg, const char *path);

/* Check that every member of group is one of keys (or of extra), of its
 * type, and that required keys are there. `what` names the group in
 * messages ("responder", "backend 'x'"); `hint` is added to the message
 * about an unknown key. Returns 0 or -1 (after logging each problem). */
int conf_check_keys(const config_setting_t *group, const char *what,
                    const struct key_spec *keys,
                    const struct tged_setting *extra, const char *hint);

/* "a string", "an integer", ... */
const char *conf_type_name(int type);

/* Full name of a setting ("responder.max_replies", "backends.[0].file"). */
const char *conf_path(const config_setting_t *s, char *buf, size_t len);

#endif

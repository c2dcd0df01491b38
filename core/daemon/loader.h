/* core/daemon/loader.h - opening plugin files and checking them. */
#ifndef TGEDD_LOADER_H
#define TGEDD_LOADER_H

#include <libconfig.h>

#include "host.h"

/* The plugin folder tgedd uses when the configuration names none: the
 * build tree's when this tgedd runs from the build tree, else the
 * installed one. */
const char *loader_default_dir(void);

/*
 * Find or open the module `module` (a name resolved in plugin_dir, or a
 * path when it holds a '/', relative to the folder of `where`'s file) and
 * add it to *list. On refusal, log one line naming the file and the reason
 * (at `where`) and return -1.
 */
int loader_open(struct module **list, const char *module,
                const char *plugin_dir, const config_setting_t *where,
                struct module **out);

/* Close every module in the list (dlclose), after their instances. */
void loader_close_all(struct module *list);

/* Check one plugin file as an author would want: everything loader_open()
 * checks, then print its settings. Returns 0 when loadable. */
int loader_check_file(const char *path);

#endif

/* tests/fuzz/fuzz_env.c - the env backend's file.
 *
 * The input is the env file (NAME=value lines), read with the default
 * prefix TGED_ by the plugin's own load() (reached by including env.c):
 * line splitting, value quoting, name decoding (scheme.c), the checks
 * across a record's variables, and the record set. An input may also give
 * the process environment (see split_env()).
 *
 * SPDX-License-Identifier: MIT */
#include <string.h>

#include "fuzz.h"
#include "fuzz_host.h"

#include "../../plugins/env/env.c"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_instance();
    return 0;
}

/* An input that starts with "#!env" line gives, up to a "#!file" line,
 * the process environment, one NAME=value a line; the rest is the file.
 * That reaches the checks between the two sources, and the environment's
 * warnings. */
#define ENV_MARK "#!env\n"
#define FILE_MARK "\n#!file\n"
#define MAX_ENV 64

static size_t split_env(const uint8_t *data, size_t size, char *text,
                        char **env, size_t *skip)
{
    size_t n = 0, ml = sizeof(ENV_MARK) - 1, fl = sizeof(FILE_MARK) - 1;
    *skip = 0;
    if (size < ml || memcmp(data, ENV_MARK, ml) != 0)
        return 0;
    /* The mark's newline may be the one that ends "#!env". */
    const uint8_t *end = memmem(data + ml - 1, size - (ml - 1), FILE_MARK, fl);
    size_t eend = end ? (size_t)(end - data) : size;
    size_t elen = eend > ml ? eend - ml : 0;
    *skip = end ? eend + fl : size;
    /* Entries are C strings: a NUL ends one early, as it would. */
    memcpy(text, data + ml, elen);
    text[elen] = '\0';
    for (char *p = text, *nl; p && n < MAX_ENV; p = nl) {
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        if (*p)
            env[n++] = p;
    }
    env[n] = NULL;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct state st = {.ctx = fuzz_instance(),
                       .prefix = "TGED_",
                       .prefix_len = 5,
                       .use_env = 0};
    struct load ld = {.st = &st};
    size_t file_vars, foreign, skip;
    char *envtext = malloc(size + 1), *env[MAX_ENV + 1];
    FUZZ_CHECK(envtext != NULL);
    fuzz_records_reset();
    if (split_env(data, size, envtext, env, &skip) > 0) {
        char **saved = environ;
        environ = env;
        st.use_env = 1;
        int rc = read_environment(&ld);
        environ = saved;
        FUZZ_CHECK(rc == 0);
    }
    st.file = fuzz_memfd(data + skip, size - skip);
    struct tged_recset *rs = load(&st, &ld, &file_vars, &foreign);
    fuzz_watch_positions(st.file, data + skip, size - skip);
    FUZZ_CHECK(ld.nkept <= MAX_REPORTS && ld.nkept <= ld.found);
    /* Problems are kept errors first, each kind in line order. */
    for (unsigned i = 1; i < ld.nkept; i++) {
        const struct problem *a = &ld.kept[i - 1], *b = &ld.kept[i];
        int wa = a->prio > LOG_ERR, wb = b->prio > LOG_ERR;
        FUZZ_CHECK(wa < wb || (wa == wb && a->line <= b->line));
    }
    flush(&ld);
    fuzz_watch_positions(NULL, NULL, 0);
    FUZZ_CHECK(!rs || ld.errors == 0);
    if (rs) {
        fuzz_serve_check(rs);
        tged_recset_free(rs);
    }
    vars_free(&st.env);
    free(envtext);
    return 0;
}

/* tests/fuzz/replay.c - run a fuzz target over saved inputs, without
 * libFuzzer: the regression test of the ordinary (gcc, ASan) build.
 *
 *     fuzz_NAME_replay FILE|FOLDER...
 *
 * Each file, and each file of each folder (in name order, dot files
 * skipped), is given once to LLVMFuzzerTestOneInput(). A crash or a
 * sanitizer report fails the test; so does an argument that cannot be
 * read, or no input at all.
 *
 * SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Initialize may have silenced stderr for the code under test. */
#define ERR (fuzz_err ? fuzz_err : stderr)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(ERR, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(ERR, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    /* An exact copy, so that a read one byte past the input is caught as
     * it is under libFuzzer. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    if (getenv("TGED_FUZZ_VERBOSE"))
        fprintf(ERR, "running %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    unsigned runs = 0;
    int bad = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(ERR, "%s: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) < 0)
                bad = 1;
            else
                runs++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, visible, alphasort);
        if (n < 0) {
            fprintf(ERR, "%s: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) < 0)
                    bad = 1;
                else
                    runs++;
            }
            free(names[k]);
        }
        free(names);
    }
    printf("%u inputs run\n", runs);
    if (!runs) {
        fprintf(ERR, "no input to run\n");
        return 1;
    }
    return bad;
}

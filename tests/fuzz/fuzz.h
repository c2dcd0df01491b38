/* tests/fuzz/fuzz.h - what every fuzz target and its drivers share.
 *
 * Each fuzz_NAME.c defines the two libFuzzer entry points. The same file
 * is linked either with libFuzzer (clang, TGED_FUZZ=ON) or with replay.c,
 * a main() that feeds it saved inputs, so that every corpus and regression
 * file is a test of the ordinary build too.
 *
 * SPDX-License-Identifier: MIT */
#ifndef TGED_FUZZ_H
#define TGED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where a broken invariant is reported: the stderr the process started
 * with, even after fuzz_quiet() has silenced the code under test. */
extern FILE *fuzz_err;

/* An invariant of the code under test: when it does not hold, say which
 * and abort, which libFuzzer and the replay test both count as a crash. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(fuzz_err ? fuzz_err : stderr,                              \
                    "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Take what the code under test writes to stderr (shown only with
 * TGED_FUZZ_LOG=1; fuzz_log_line sees it either way), and make stdin
 * /dev/null so that no input can make a reader wait on it. */
void fuzz_quiet(void);

/* Called with each line the code under test writes to stderr (without
 * its newline) once fuzz_quiet() has run, whether or not logs are shown. */
extern void (*fuzz_log_line)(const char *line, size_t len);

/* How many lines a text has, and how many bytes its longest. */
struct fuzz_extent {
    long lines, widest;
};
void fuzz_extent_of(struct fuzz_extent *e, const uint8_t *text, size_t size);

/* A message that starts "FILE:LINE:" or "FILE:LINE:COLUMN:" for `file`
 * must point into the text of extent e: lines from 1 to the number of
 * lines, columns from 1 to one past the longest line, in bytes (a column
 * counted in characters is not more). Other messages are not checked. */
void fuzz_check_positions(const char *msg, size_t len, const char *file,
                          const struct fuzz_extent *e);

/* From now on, check the positions in every line logged against text,
 * read as `file` (NULL: stop). */
void fuzz_watch_positions(const char *file, const uint8_t *text, size_t size);

/* ---- inputs that the code under test reads as files ---- */

/* A memfd holding data, named by its /proc/self/fd path (valid until the
 * next call). For readers that open a path but follow nothing from it. */
const char *fuzz_memfd(const uint8_t *data, size_t size);

/* data written to `name` in a private, otherwise empty folder made on
 * first use (removed at exit); its path. For libconfig files: @include
 * and relative paths then resolve in that folder, not in /proc/self/fd,
 * where "0", "1", "2" are the process's own stdio and may block. */
const char *fuzz_dir_file(const char *name, const uint8_t *data, size_t size);

#endif /* TGED_FUZZ_H */

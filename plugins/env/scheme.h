/* plugins/env/scheme.h - record variables' names and env-file lines.
 *
 * Pure functions, no host services, so that the grammar documented in
 * docs/backends/env.md is unit-tested on its own (test_env_scheme.c).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_ENV_SCHEME_H
#define TGED_ENV_SCHEME_H

#include <stddef.h>
#include <stdint.h>

/** Record numbers have at most this many digits (they fit 32 bits). */
#define ENV_MAX_DIGITS 9

/** What the part of a variable name after the prefix stands for. */
struct env_name {
    const char *type; /**< decoded, in the caller's buffer */
    size_t type_len;
    const char *field; /**< decoded, in the caller's buffer */
    size_t field_len;
    int numbered;    /**< 1 for <TYPE>__<N>__<FIELD> */
    uint32_t index;  /**< N */
    unsigned digits; /**< how many digits N was written with */
};

/**
 * Decode `s` (len bytes: a variable name without its prefix).
 * @param buf  len bytes at least; receives the decoded type and field
 * @return 0, or -EINVAL with the reason, which does not repeat the name,
 *         in err (errlen bytes)
 */
int env_name_decode(const char *s, size_t len, char *buf, struct env_name *n,
                    char *err, size_t errlen);

/** How a line of an environment file ended after its name. */
enum env_line_kind {
    ENV_LINE_EMPTY = 0,   /**< blank or a comment */
    ENV_LINE_ASSIGN,      /**< NAME=..., the value still to be read */
    ENV_LINE_NO_EQUALS,   /**< a name alone (docker copies it from its env) */
    ENV_LINE_SPACE_EQUALS /**< white space between the name and '=' */
};

/** A line of an environment file, split. */
struct env_line {
    const char *name; /**< into the line */
    size_t name_len;
    const char *rest; /**< what follows '=' (ENV_LINE_ASSIGN only) */
    size_t rest_len;
};

/** Split one line (its '\n' and a '\r' before it already removed) into a
 *  name and the rest; returns an enum env_line_kind. Never fails: what a
 *  line means depends on whether its name is ours. */
int env_line_split(const char *line, size_t len, struct env_line *l);

/**
 * Read the value of an assignment from the text after '=' (see the
 * grammar in docs/backends/env.md): white space around it dropped, one
 * pair of single or double quotes removed.
 * @return 0 with *value / *value_len pointing into rest, or -EINVAL with
 *         the reason in err
 */
int env_value_parse(const char *rest, size_t len, const char **value,
                    size_t *value_len, char *err, size_t errlen);

#endif /* TGED_ENV_SCHEME_H */

/* plugins/pipe/proto.h - the pipe line protocol: requests out, lines in.
 *
 * Pure functions on caller memory, no I/O: docs/backends/pipe.md is the
 * specification they implement.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_PIPE_PROTO_H
#define TGED_PIPE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <tged/plugin.h>

/** The protocol version tgedd speaks, sent as "TGED-PIPE 1". */
#define PIPE_PROTOCOL 1
#define PIPE_HELLO "TGED-PIPE 1\n"
/** Bytes of one line in either direction, its LF included. */
#define PIPE_MAX_LINE 1024
/** Fields of one record: what fits a REPLY beside RQ and ID. */
#define PIPE_MAX_FIELDS (TGED_MSG_HEADERS - 2)
/** Room for the longest request: a filter written "NAME:value" in a
 *  datagram is 2 bytes longer as "F NAME value"; then the Q line. */
#define PIPE_MAX_REQUEST (TGED_MAX_REQUEST + 4 * TGED_MAX_REQUEST_HEADERS + 128)

/** What the first line of a program says. */
enum pipe_hello {
    PIPE_HELLO_OK = 0,  /**< "OK 1" */
    PIPE_HELLO_VERSION, /**< "OK <something else>": another version */
    PIPE_HELLO_ERROR,   /**< "ERROR" or "ERROR <text>" */
    PIPE_HELLO_BAD,     /**< not the protocol at all */
};

/** Classify the answer to PIPE_HELLO; *arg (of *arg_len bytes) is the
 *  version or the error text, empty when absent. */
int pipe_parse_hello(const char *line, size_t len, const char **arg,
                     size_t *arg_len);

/**
 * Write the part of a request that does not depend on its id: the type
 * in upper case, LF, then "F NAME value" for every filter (names in upper
 * case, sorted by name), then the empty line. This text is also the key
 * of the answer cache. Returns its length, 0 when cap is too small.
 */
size_t pipe_format_key(char *buf, size_t cap, const struct tged_query *q);

/** The request line's prefix "Q <id> " in buf (at least 24 bytes);
 *  returns its length. */
size_t pipe_format_prefix(char *buf, uint64_t id);

/** The kinds of answer lines. */
enum pipe_line_kind {
    PIPE_LINE_RECORD = 1, /**< R <id> */
    PIPE_LINE_FIELD,      /**< F <NAME> <value> */
    PIPE_LINE_END,        /**< END <id> <status> */
};

/** One answer line, pointing into the line it was parsed from. */
struct pipe_line {
    int kind;                /**< enum pipe_line_kind */
    uint64_t id;             /**< R and END */
    int status;              /**< END: an enum tged_lookup_status */
    struct tged_field field; /**< F */
};

/** Parse one line (without its LF). NULL when good, else a static text
 *  saying what is wrong with it. Field names and values are checked
 *  against TGED's rules here. */
const char *pipe_parse_line(const char *line, size_t len,
                            struct pipe_line *out);

/** The protocol's word for a status ("found", ...). */
const char *pipe_status_name(int status);

/**
 * Copy bytes for a log line: printable ASCII as it is, a backslash as
 * "\\", anything else as "\xNN", so a program cannot forge log lines.
 * Cut with "..." to fit cap bytes (NUL included). Returns out.
 */
char *pipe_escape(char *out, size_t cap, const char *s, size_t len);

#endif

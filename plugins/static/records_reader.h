/* plugins/static/records_reader.h - a fast reader for the records file.
 *
 * libconfig builds a tree of the whole file, one allocation a setting,
 * before the first record can be added; for a file of 100 000 records that
 * is most of the start-up time. This reader parses the subset of libconfig
 * syntax a records file is normally written in, in one pass over the file
 * in memory, straight into a record set builder.
 *
 * It never explains a refusal: anything outside the subset, and any error
 * at all, makes it answer STATIC_READ_NOT_HANDLED, and the caller reads
 * the file again with libconfig, whose messages name the file and line.
 * What it accepts, libconfig and the tree walk of static.c accept too and
 * turn into the same records (tests/fuzz/fuzz_static_reader.c checks it).
 *
 * The subset:
 *  - `records = ( { type = "T"; fields = { NAME = value; ... }; }, ... );`
 *    and nothing else at the top level (or nothing at all); a record holds
 *    `type` and `fields`, once each, in either order;
 *  - `=` or `:`; `;` or `,` after a setting, or nothing; `,` between
 *    records;
 *  - comments: `#` and `//` up to a newline (libconfig refuses one that
 *    the file ends in), and slash-star ones that are closed;
 *  - setting names of libconfig's lexer that start with a letter;
 *  - strings with the escapes \\ \" \n \r \t \f \xNN (not \x00), where a
 *    backslash before anything else stays a backslash, as in libconfig;
 *    strings written side by side ("a" "b" is "ab");
 *  - integers: decimal within 32 bits, or with L within 18 digits; hex
 *    within 0x7FFFFFFF, or with L within 0x7FFFFFFFFFFFFFFF (libconfig 1.5
 *    wraps larger ones, as C conversions do);
 *  - true and false in any case.
 * Not in it: @include (the text "@include" anywhere), floats, arrays [ ],
 * NUL bytes, anything that is not a regular file.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TGED_STATIC_RECORDS_READER_H
#define TGED_STATIC_RECORDS_READER_H

#include <stddef.h>

#include <tged/plugin.h>

enum {
    STATIC_READ_DONE = 0,        /**< every record of the file was added */
    STATIC_READ_NOT_HANDLED = 1, /**< read it with libconfig instead */
};

/**
 * Read the records file at path into b.
 * @param line  set to the line where the reader gave up (0: not at a
 *              line, such as an unreadable file or a NUL byte), for a
 *              debug message
 * @return STATIC_READ_DONE, or STATIC_READ_NOT_HANDLED: then b may hold
 *         some of the file's records and must be thrown away
 */
int static_records_read(const char *path, struct tged_recset_builder *b,
                        unsigned *line);

/**
 * The same on text in memory: len bytes, and text[len] must be '\0'.
 * Records point into text only while they are added.
 */
int static_records_parse(const char *text, size_t len,
                         struct tged_recset_builder *b, unsigned *line);

#endif /* TGED_STATIC_RECORDS_READER_H */

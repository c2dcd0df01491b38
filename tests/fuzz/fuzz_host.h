/* tests/fuzz/fuzz_host.h - a backend instance without tgedd, for fuzzing a
 * plugin's reader, and a check of the records it builds.
 *
 * A target includes the plugin's .c file after this header, so that it
 * reaches the plugin's static reader, and the plugin's calls to the record
 * set builder go through the wrappers below: every record the plugin gets
 * accepted is then looked up in the built set, and each answer is parsed
 * as a client would. What the builder accepts must be servable.
 *
 * SPDX-License-Identifier: MIT */
#ifndef TGED_FUZZ_HOST_H
#define TGED_FUZZ_HOST_H

#include <tged/plugin.h>

/* Logs silenced (fuzz_quiet), and one instance, "fuzz" (module "?"), with
 * the default max_reply_size. */
struct tged_instance *fuzz_instance(void);

int fuzz_recset_add(struct tged_recset_builder *b, const char *type,
                    size_t type_len, const struct tged_field *fields,
                    size_t nfields);
struct tged_recset *fuzz_recset_build(struct tged_recset_builder *b);
void fuzz_recset_builder_free(struct tged_recset_builder *b);

/* Look up records the plugin added to rs (a bounded number of them), by
 * type and by their fields; each must be found, and each answer must
 * parse as a REPLY carrying the filters asked. */
void fuzz_serve_check(const struct tged_recset *rs);

/* Forget the records kept so far (call at the start of each input). */
void fuzz_records_reset(void);

#define tged_recset_add fuzz_recset_add
#define tged_recset_build fuzz_recset_build
#define tged_recset_builder_free fuzz_recset_builder_free

#endif /* TGED_FUZZ_HOST_H */

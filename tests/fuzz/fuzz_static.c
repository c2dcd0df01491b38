/* tests/fuzz/fuzz_static.c - the static backend's records file.
 *
 * The input is the file named by `file = ...`: libconfig text holding
 * records = ( ... ). It is read by the plugin's own load(), reached by
 * including static.c, on an instance made without tgedd: by the fast
 * reader (records_reader.c, included too, so that its records also go
 * through fuzz_host.h's checks) or, when that gives up, by libconfig.
 * fuzz_static_reader.c compares the two.
 *
 * SPDX-License-Identifier: MIT */
#include "fuzz.h"
#include "fuzz_host.h"

#include "../../plugins/static/static.c"
#include "../../plugins/static/records_reader.c"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_instance();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct state st = {.ctx = fuzz_instance()};
    fuzz_records_reset();
    st.file = fuzz_dir_file("records.conf", data, size);
    fuzz_watch_positions(st.file, data, size);
    struct tged_recset *rs = load(&st);
    fuzz_watch_positions(NULL, NULL, 0);
    if (rs) {
        fuzz_serve_check(rs);
        tged_recset_free(rs);
    }
    return 0;
}

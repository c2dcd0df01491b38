/* tests/fuzz/fuzz_json.c - the json backend's file.
 *
 * The input is the JSON file, read by the plugin's own load() (reached by
 * including json.c): jansson's parse, the checks, the error positions
 * (line and column found again in the text), and the record set.
 *
 * SPDX-License-Identifier: MIT */
#include "fuzz.h"
#include "fuzz_host.h"

#include "../../plugins/json/json.c"

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
    int rc;
    fuzz_records_reset();
    st.file = fuzz_memfd(data, size);
    fuzz_watch_positions(st.file, data, size);
    struct data *d = load(&st, 0, &rc);
    fuzz_watch_positions(NULL, NULL, 0);
    FUZZ_CHECK(d ? rc == 0 : rc < 0);
    if (d) {
        fuzz_serve_check(d->rs);
        /* Types written with an empty list are kept sorted for bsearch. */
        for (size_t i = 1; i < d->nempty; i++)
            FUZZ_CHECK(empty_cmp(&d->empty[i - 1], &d->empty[i]) <= 0);
        free_data(d);
    }
    return 0;
}

/* tests/fuzz/fuzz_dnsmasq_leases.c - the dhcp backend's dnsmasq leases reader.
 *
 * The input is the file, given to the reader as the plugin gives it; what
 * it read is then settled, merged and formatted as the plugin serves it.
 *
 * SPDX-License-Identifier: MIT */
#include "fuzz.h"
#include "fuzz_dhcp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dhcp_list leases;
    if (fuzz_dhcp_read(dhcp_read_dnsmasq_leases, data, size, &leases) == 0)
        fuzz_dhcp_serve(&leases, NULL);
    dhcp_list_free(&leases);
    return 0;
}

/* tests/fuzz/fuzz_dnsmasq_hosts.c - the dhcp backend's reader of dnsmasq
 * dhcp-host= lines (reservations).
 *
 * The input is the configuration file; the reservations read are merged,
 * without leases, and formatted as the plugin serves them.
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
    struct dhcp_list hosts;
    if (fuzz_dhcp_read(dhcp_read_dnsmasq_hosts, data, size, &hosts) == 0)
        fuzz_dhcp_serve(NULL, &hosts);
    dhcp_list_free(&hosts);
    return 0;
}

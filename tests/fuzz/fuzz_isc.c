/* tests/fuzz/fuzz_isc.c - the dhcp backend's readers of ISC dhcpd files:
 * dhcpd.leases and the host declarations of dhcpd.conf.
 *
 * Both share one statement syntax (isc_lex.c), so each input is read by
 * both; the leases and the reservations read are merged and formatted as
 * the plugin serves them.
 *
 * SPDX-License-Identifier: MIT */
#include <errno.h>

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
    struct dhcp_list leases, hosts;
    int lrc = fuzz_dhcp_read(dhcp_read_isc_leases, data, size, &leases);
    int hrc = fuzz_dhcp_read(dhcp_read_isc_hosts, data, size, &hosts);
    /* The syntax is the same: a file one refuses, the other refuses. */
    FUZZ_CHECK((lrc == -EINVAL) == (hrc == -EINVAL));
    if (lrc == 0 && hrc == 0)
        fuzz_dhcp_serve(&leases, &hosts);
    dhcp_list_free(&leases);
    dhcp_list_free(&hosts);
    return 0;
}

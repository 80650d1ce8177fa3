/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Whether the maps pinned under a pin root speak this veer's ABI: every
 * map's key and value size, and the ABI version the runtime map records.
 */
#ifndef VEER_ABI_CHECK_H
#define VEER_ABI_CHECK_H

#include <stddef.h>

/*
 * 0 when every pinned veer map has this build's layout (maps not pinned
 * yet are fine: a load creates them); -1 with a one-line message naming
 * the first map that differs and what to do.
 */
int veer_abi_check(const char *pin_root, char *err, size_t errlen);

#endif /* VEER_ABI_CHECK_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How long veer waits on another process before it gives up: a writer for
 * the pin root's lock, a FIFO given to `apply -f` for its writer.
 */
#ifndef VEER_WAIT_H
#define VEER_WAIT_H

#include <stddef.h>

#define VEER_WAIT_ENV "VEER_WAIT"
#define VEER_WAIT_DEFAULT_MS 10000U
#define VEER_WAIT_MAX_S 3600U

/*
 * From $VEER_WAIT (seconds, up to 3 decimals, 0..3600; default 10). 0, or
 * -1 with a one-line message when the variable is malformed.
 */
int veer_wait_ms(unsigned int *ms, char *err, size_t errlen);

/* A wait as seconds for messages: "10", "0.5". */
#define VEER_WAIT_STRLEN 16
void veer_wait_format(unsigned int ms, char *buf, size_t len);

#endif /* VEER_WAIT_H */

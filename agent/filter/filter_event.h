/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The accessor that answers a filter's event keys (filter.h) from the
 * decoded view (decode.h).
 */
#ifndef SF_FILTER_EVENT_H
#define SF_FILTER_EVENT_H

#include "decode.h"
#include "filter.h"

/* ctx: a const struct decode_event * */
void filter_event_get(const void *ctx, enum filter_key key, const char *arg,
		      struct filter_value *v);

#endif

// SPDX-License-Identifier: GPL-2.0
#include "options.h"
#include "sink.h"

struct sink *sink_http_open(const struct sf_options *o, const char *url,
			    struct sf_error **err)
{
	sf_usage(err, "HTTP export (--http) is not available in this build yet");
	return NULL;
}

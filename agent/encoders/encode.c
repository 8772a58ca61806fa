// SPDX-License-Identifier: GPL-2.0
/* The table of output formats.  A new format: one file, one line here. */
#include <string.h>

#include "encode.h"

static const struct encoder *const encoders[] = {
	&encoder_json,
	&encoder_quixote,
	&encoder_cadets,
};

const struct encoder *encoder_find(const char *name)
{
	for (size_t i = 0; i < sizeof(encoders) / sizeof(encoders[0]); i++)
		if (strcmp(encoders[i]->name, name) == 0)
			return encoders[i];
	return NULL;
}

const char *encoder_names(void)
{
	return "json, quixote, cadets";
}

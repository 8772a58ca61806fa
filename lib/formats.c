// SPDX-License-Identifier: GPL-2.0
/* The format registry (formats.h), as a table. */
#include "formats.h"

#include <string.h>

#define FORMAT_ENTRY(id, name, pre, sep, suf, hook, help) \
	{name, pre, sep, suf, hook, help},

const struct sf_format formats_table[] = {SF_FORMATS(FORMAT_ENTRY, )};
const size_t formats_count = sizeof(formats_table) / sizeof(formats_table[0]);

const struct sf_format *formats_find(const char *name)
{
	for (size_t i = 0; name && i < formats_count; i++)
		if (strcmp(formats_table[i].name, name) == 0)
			return &formats_table[i];
	return NULL;
}

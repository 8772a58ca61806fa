// SPDX-License-Identifier: GPL-2.0
/* The encoder table, made from the format registry (lib/formats.h). */
#include <string.h>

#include "encode.h"
#include "workload.h"

#define ENCODER_ENTRY(id, name, pre, sep, suf, hook, help) \
	{name, pre, sep, suf, &encode_##id##_ops},

static const struct encoder encoders[] = {SF_FORMATS(ENCODER_ENTRY, )};

const struct encoder *encoder_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(encoders) / sizeof(encoders[0]);
	     i++)
		if (strcmp(encoders[i].name, name) == 0)
			return &encoders[i];
	return NULL;
}

int encoder_load(const struct encoder *enc, struct sf_error **err)
{
	return enc && enc->ops->load ? enc->ops->load(err) : 0;
}

static void encoder_new_file(void *ctx)
{
	struct workload *wl = ctx;

	wl->enc->ops->new_file(wl);
}

void (*encoder_new_file_fn(const struct encoder *enc))(void *ctx)
{
	return enc && enc->ops->new_file ? encoder_new_file : NULL;
}

const struct encoder *encoder_table(size_t *n)
{
	*n = sizeof(encoders) / sizeof(encoders[0]);
	return encoders;
}

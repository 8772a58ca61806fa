// SPDX-License-Identifier: GPL-2.0
#include "sink.h"

void sink_close(struct sink *s)
{
	if (!s)
		return;
	s->ops->close(s);
}

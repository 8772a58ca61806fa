// SPDX-License-Identifier: GPL-2.0
/* flood N: N failing opens as fast as possible, for the loss tests. */
#include <fcntl.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;

	for (long i = 0; i < n; i++)
		open("/nonexistent/sfagent-flood", O_RDONLY);
	return 0;
}

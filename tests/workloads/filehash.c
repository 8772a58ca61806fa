// SPDX-License-Identifier: GPL-2.0
/*
 * Workload of tests/54-filehash.bats (--hash open):
 *   filehash uring FILE      open FILE through io_uring (IORING_OP_OPENAT),
 *                            read it, exit
 *   filehash change FILE     stop the agent (the parent, under -X), open
 *                            FILE, append to it while open, let the agent
 *                            go on: what it hashes is no longer what was
 *                            opened
 *   filehash reopen N FILE   open and close FILE N times
 * A dynamic program: its libc is mapped executable by the loader.
 */
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int uring_open(const char *path)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char buf[4096];
	int fd;

	if (io_uring_queue_init(4, &ring, 0) < 0) {
		perror("io_uring_queue_init");
		return 1;
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	io_uring_submit(&ring);
	if (io_uring_wait_cqe(&ring, &cqe) < 0 || cqe->res < 0) {
		fprintf(stderr, "io_uring openat failed\n");
		return 1;
	}
	fd = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	printf("%d\n", fd);
	io_uring_queue_exit(&ring);
	return 0;
}

static int change(const char *path)
{
	int fd, w;

	kill(getppid(), SIGSTOP);
	fd = open(path, O_RDONLY);
	w = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || w < 0 || write(w, "changed\n", 8) != 8) {
		kill(getppid(), SIGCONT);
		perror(path);
		return 1;
	}
	close(w);
	kill(getppid(), SIGCONT);
	/* the fd stays open a moment: the agent finds it, and a file that
	 * is not what the kernel reported at the open */
	usleep(300 * 1000);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "uring"))
		return uring_open(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "change"))
		return change(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "reopen")) {
		for (int i = 0, n = atoi(argv[2]); i < n; i++) {
			int fd = open(argv[3], O_RDONLY);

			if (fd < 0) {
				perror(argv[3]);
				return 1;
			}
			close(fd);
		}
		return 0;
	}
	fprintf(stderr,
		"usage: filehash uring FILE | change FILE | reopen N FILE\n");
	return 2;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A deterministic workload for the fidelity test.  It does one of each thing
 * sfagent reports and writes what it did (pids, port, paths) as JSON to
 * FACTS so the test can compare the stream with the truth.
 *
 * Usage: fidelity DIR FACTS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static char *path(const char *dir, const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void interrupted_open(const char *dir)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	/* every 50 ms until the writer comes: on a loaded machine the first
	 * tick may come before the open blocks, a later one will not */
	struct itimerval it = { .it_value = { .tv_usec = 50000 },
				.it_interval = { .tv_usec = 50000 } };
	struct itimerval off = { 0 };
	pid_t writer;
	int fd;

	if (mkfifo(path(dir, "fifo"), 0600) < 0)
		die("mkfifo");
	sigaction(SIGALRM, &sa, NULL);
	writer = fork();
	if (writer == 0) {
		usleep(600000);
		fd = open(path(dir, "fifo"), O_WRONLY);
		_exit(fd < 0);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	fd = open(path(dir, "fifo"), O_RDONLY);
	setitimer(ITIMER_REAL, &off, NULL);
	if (fd < 0)
		die("open fifo");
	close(fd);
	waitpid(writer, NULL, 0);
	unlink(path(dir, "fifo"));
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	socklen_t sl = sizeof(sa);
	int fd, lfd, cfd, afd, ufd, st;
	pid_t exec_child, kill_child, uid_child;
	const char *dir;
	FILE *facts;

	if (argc != 3) {
		fprintf(stderr, "usage: fidelity DIR FACTS\n");
		return 2;
	}
	dir = argv[1];

	/* file events */
	fd = openat(AT_FDCWD, path(dir, "a"), O_CREAT | O_WRONLY | O_TRUNC, 0640);
	if (fd < 0)
		die("open");
	if (write(fd, "fidelity\n", 9) != 9)
		die("write");
	close(fd);
	if (rename(path(dir, "a"), path(dir, "b")) < 0)
		die("rename");
	if (link(path(dir, "b"), path(dir, "c")) < 0)
		die("link");
	if (symlink(path(dir, "b"), path(dir, "d")) < 0)
		die("symlink");
	if (chmod(path(dir, "b"), 0600) < 0)
		die("chmod");
	if (chown(path(dir, "b"), 65534, 65533) < 0)
		die("chown");
	if (truncate(path(dir, "b"), 4) < 0)
		die("truncate");
	/* flags the stream names: renameat2's and linkat's */
	if (syscall(SYS_renameat2, AT_FDCWD, path(dir, "b"), AT_FDCWD,
		    path(dir, "e"), 1 /* RENAME_NOREPLACE */) < 0 ||
	    syscall(SYS_renameat2, AT_FDCWD, path(dir, "e"), AT_FDCWD,
		    path(dir, "b"), 1) < 0)
		die("renameat2");
	if (linkat(AT_FDCWD, path(dir, "b"), AT_FDCWD, path(dir, "f"),
		   AT_SYMLINK_FOLLOW) < 0)
		die("linkat");
	unlink(path(dir, "f"));
	if (mkdir(path(dir, "sub"), 0750) < 0)
		die("mkdir");
	if (rmdir(path(dir, "sub")) < 0)
		die("rmdir");
	/* rm -r removes directories this way */
	if (mkdir(path(dir, "sub2"), 0700) < 0 ||
	    unlinkat(AT_FDCWD, path(dir, "sub2"), AT_REMOVEDIR) < 0)
		die("unlinkat dir");
	/* a failing open: the event carries the error */
	if (open(path(dir, "missing"), O_RDONLY) >= 0 || errno != ENOENT)
		die("open missing");
	unlink(path(dir, "c"));
	unlink(path(dir, "d"));
	unlink(path(dir, "b"));

	/* network: listen on an ephemeral loopback port, connect, accept */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(lfd, 8) < 0)
		die("listen");
	if (getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		die("getsockname");
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	close(afd);
	close(cfd);
	close(lfd);
	ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(su.sun_path, sizeof(su.sun_path), "%s", path(dir, "sock"));
	if (bind(ufd, (struct sockaddr *)&su, sizeof(su)) < 0)
		die("bind unix");
	close(ufd);
	unlink(path(dir, "sock"));
	/* a listening unix socket: net.listen names its path */
	ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(su.sun_path, sizeof(su.sun_path), "%s", path(dir, "lsock"));
	if (bind(ufd, (struct sockaddr *)&su, sizeof(su)) < 0 ||
	    listen(ufd, 1) < 0)
		die("listen unix");
	close(ufd);
	unlink(path(dir, "lsock"));
	/* an abstract unix name: a leading NUL, exactly addrlen bytes */
	ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(su.sun_path, 0, sizeof(su.sun_path));
	memcpy(su.sun_path + 1, "sfagent-abs", 11);
	if (bind(ufd, (struct sockaddr *)&su,
		 offsetof(struct sockaddr_un, sun_path) + 12) < 0)
		die("bind abstract");
	close(ufd);
	/* IPv6 loopback: the event carries the address whether or not it works */
	cfd = socket(AF_INET6, SOCK_STREAM, 0);
	{
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
					   .sin6_port = htons(9),
					   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

		connect(cfd, (struct sockaddr *)&s6, sizeof(s6));
	}
	close(cfd);
	/* a signal to oneself by thread id */
	if (syscall(SYS_tgkill, getpid(), gettid(), 0) < 0)
		die("tgkill");

	/* an open interrupted by a signal handler (SA_RESTART): the kernel
	 * restarts it, the stream shows -EINTR with "interrupted" and then
	 * the open that succeeded */
	interrupted_open(dir);

	/* process: a child that execs and exits 5 */
	exec_child = fork();
	if (exec_child == 0) {
		execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
		_exit(98);
	}
	waitpid(exec_child, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 5)
		die("exec child");
	/* an exec that fails: the event has its error and filename */
	{
		char *const args[] = { "nosuch", "arg", NULL };

		if (execv(path(dir, "nosuch"), args) == 0 || errno != ENOENT)
			die("exec nosuch");
	}

	/* signal: kill a child that waits */
	kill_child = fork();
	if (kill_child == 0) {
		pause();
		_exit(0);
	}
	if (kill(kill_child, SIGTERM) < 0)
		die("kill");
	waitpid(kill_child, &st, 0);

	/* credentials: a child drops to nobody */
	uid_child = fork();
	if (uid_child == 0) {
		if (setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(97);
		_exit(0);
	}
	waitpid(uid_child, &st, 0);

	facts = fopen(argv[2], "w");
	if (!facts)
		die("facts");
	fprintf(facts,
		"{\"pid\":%d,\"ppid\":%d,\"port\":%d,\"dir\":\"%s\",\"exec_child\":%d,\"kill_child\":%d,\"uid_child\":%d}\n",
		getpid(), getppid(), ntohs(sa.sin_port), dir, exec_child, kill_child,
		uid_child);
	fclose(facts);
	return 3;
}

// SPDX-License-Identifier: GPL-2.0
#include "cgroup.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (s[1] - '0') << 6 | (s[2] - '0') << 3 |
			       (s[3] - '0');
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

int cg2_mount_point(char **out, struct sf_error **err)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return sf_fail(err, errno, "open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype src sopts */
		char *sep = strstr(line, " - ");
		char *fields[5], *save = NULL, *tok = line;
		int i;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		for (i = 0; i < 5; i++) {
			fields[i] = strtok_r(tok, " ", &save);
			tok = NULL;
			if (!fields[i])
				break;
		}
		if (i < 5)
			continue;
		unescape_octal(fields[4]);
		*out = xstrdup(fields[4]);
		return 0;
	}
	return sf_fail(
		err, 0,
		"cgroup v2 is not mounted (no cgroup2 entry in /proc/self/mountinfo); mount it, e.g. `mount -t cgroup2 none /sys/fs/cgroup/unified`");
}

int cg2_path_of_pid(pid_t pid, char **out, struct sf_error **err)
{
	cleanup_free char *path = xasprintf("/proc/%d/cgroup", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return sf_fail(err, errno, "open `%s`", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		*out = xstrdup(line + 3);
		return 0;
	}
	return sf_fail(err, 0, "process %d has no cgroup v2 entry in `%s`",
		       (int)pid, path);
}

int cg2_id(const char *dir, uint64_t *id, struct sf_error **err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return sf_fail(err, errno, "stat cgroup `%s`", dir);
	*id = st.st_ino;
	return 0;
}

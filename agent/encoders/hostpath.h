/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's view of a file a container names (issue 12, `host_path`).
 * The kernel walk of a file event stops at the task's root; for a
 * container that is its mount namespace's root mount, which has no way up
 * into the host's tree.  The record carries instead the device of the
 * mount the object is on and the object's path inside that file system;
 * this module finds a host mount of that device whose root (mountinfo's
 * 4th field) is a prefix of that path, in the host's mount table
 * (/proc/1/mountinfo), and joins its mount point with the rest.
 *
 * The table is cached: re-read when it is older than HOSTPATH_MAX_AGE_MS,
 * and on a miss when older than HOSTPATH_MISS_MS (a container mounted
 * since).  A device freed and reused between an event and its decoding
 * could name the newer mount: that window is bounded by the table's age.
 * Nothing is looked up before hostpath_enable(): then every lookup misses
 * (unit tests, fuzzers, decoders of recorded streams).
 */
#ifndef SF_HOSTPATH_H
#define SF_HOSTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTPATH_MAX_AGE_MS 1000
#define HOSTPATH_MISS_MS    100

/* proc_dir: the host's init, "/proc/1" (or a test's fixture directory
 * holding mountinfo and ns/mnt).  Returns 0, or -1 when its mountinfo
 * cannot be read (host_path then stays absent). */
int hostpath_enable(const char *proc_dir);
void hostpath_disable(void);

/* true: the mount namespace (inode number) is the host's */
bool hostpath_is_host_ns(uint32_t mnt_ns);

/* dev: the kernel's dev_t (major << 20 | minor); fspath: "/..." inside
 * that file system.  Writes the host path into out (cap bytes), returns
 * its length, or -1 when no host mount of dev holds it (or out is too
 * small). */
int hostpath_lookup(uint64_t dev, const char *fspath, char *out, size_t cap);

/* a then b into out (cap bytes), NUL-terminated: their length, or -1 when
 * that does not fit (snprintf "%s%s" without its cost, once per event) */
int hostpath_join(char *out, size_t cap, const char *a, const char *b);

/* Parses one mountinfo line's device, root and mount point (the octal
 * escapes undone, in place).  Returns 0, or -1 for a malformed line.
 * Exported for the unit test. */
int hostpath_parse_line(char *line, uint64_t *dev, char **root, char **mnt);

#endif

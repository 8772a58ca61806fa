// SPDX-License-Identifier: GPL-2.0
/*
 * Show mode (-S): the bundles in the bundle directory, one line each, in
 * aligned columns.  A broken bundle is listed with what is wrong with it,
 * never left out; dot-entries and entries that are not directories (nor
 * links) are not bundles.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "run.h"

struct show_row {
	char *name; /* display form */
	const char *config, *root;
	char *process; /* args, or "broken: why" */
};

static const char *state_name(enum bundle_state s)
{
	switch (s) {
	case BUNDLE_OK:
		return "ok";
	case BUNDLE_MISSING:
		return "missing";
	case BUNDLE_INVALID:
		return "invalid";
	default:
		return "-";
	}
}

static char *display(const char *s)
{
	struct sbuf o = {0};

	bundle_display_str(&o, s, true);
	sbuf_putc(&o, 0);
	return o.data;
}

static void show_row_fill(struct show_row *r, const char *bdir,
			  const char *name)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *dir = xasprintf("%s/%s", bdir, name);
	struct bundle b;
	struct stat st;

	r->name = display(name);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r->config = r->root = "-";
		r->process = xstrdup("broken: not a directory");
		return;
	}
	if (bundle_load(&b, dir, name, &err) < 0) {
		struct sbuf o = {0};

		sbuf_lit(&o, "broken: ");
		bundle_display_str(&o, err->msg, false);
		sbuf_putc(&o, 0);
		r->process = o.data;
	} else {
		r->process = bundle_display_args(&b);
	}
	r->config = state_name(b.config);
	r->root = state_name(b.root);
	bundle_free(&b);
}

static int col_width(const char *title, struct show_row *rows, int n,
		     const char *(*get)(struct show_row *))
{
	int w = strlen(title);

	for (int i = 0; i < n; i++) {
		int l = strlen(get(&rows[i]));

		if (l > w)
			w = l;
	}
	return w;
}

static const char *get_name(struct show_row *r)
{
	return r->name;
}
static const char *get_config(struct show_row *r)
{
	return r->config;
}
static const char *get_root(struct show_row *r)
{
	return r->root;
}

/* A bundle is a directory (or a link to one): dot-entries and plain files
 * (a README, a build script next to the bundles) are not listed.  A link
 * that leads nowhere is, as broken. */
static int dirfd_scanned = -1;
static int is_bundle_entry(const struct dirent *d)
{
	struct stat st;

	if (d->d_name[0] == '.')
		return 0;
	if (d->d_type == DT_DIR || d->d_type == DT_LNK)
		return 1;
	if (d->d_type != DT_UNKNOWN)
		return 0;
	return fstatat(dirfd_scanned, d->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		       0 &&
	       (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode));
}

int run_show(const struct sf_options *o, struct sf_error **err)
{
	const char *bdir = o->bundle_dir;
	struct dirent **ents = NULL;
	struct show_row *rows;
	struct stat st;
	int n, wn, wc, wr;

	if (stat(bdir, &st) < 0)
		return sf_fail(
			err, 0,
			"bundle directory `%s` %s: create it, or point -B DIR or SFAGENT_BUNDLES at one",
			bdir,
			errno == ENOENT ? "does not exist" : strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sf_fail(
			err, 0,
			"bundle directory `%s` is not a directory: point -B DIR or SFAGENT_BUNDLES at one",
			bdir);
	dirfd_scanned = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = dirfd_scanned < 0
		    ? -1
		    : scandir(bdir, &ents, is_bundle_entry, alphasort);
	if (dirfd_scanned >= 0)
		close(dirfd_scanned);
	dirfd_scanned = -1;
	if (n < 0)
		return sf_fail(err, errno, "read bundle directory `%s`", bdir);
	if (n == 0) {
		free(ents);
		printf("no bundles in %s\n", bdir);
		return 0;
	}
	rows = xzalloc(n * sizeof(*rows));
	for (int i = 0; i < n; i++)
		show_row_fill(&rows[i], bdir, ents[i]->d_name);
	wn = col_width("NAME", rows, n, get_name);
	wc = col_width("CONFIG", rows, n, get_config);
	wr = col_width("ROOTFS", rows, n, get_root);
	printf("%-*s  %-*s  %-*s  %s\n", wn, "NAME", wc, "CONFIG", wr, "ROOTFS",
	       "PROCESS");
	for (int i = 0; i < n; i++) {
		printf("%-*s  %-*s  %-*s  %s\n", wn, rows[i].name, wc,
		       rows[i].config, wr, rows[i].root, rows[i].process);
		free(rows[i].name);
		free(rows[i].process);
		free(ents[i]);
	}
	free(rows);
	free(ents);
	if (fflush(stdout) != 0)
		return sf_fail(err, errno, "write the bundle list");
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File events from syscall exits: open, unlink, rename, mkdir, rmdir, link,
 * symlink, chmod, chown, truncate (the "file" class of syscalls.def).
 */
#ifndef SF_FILE_BPF_H
#define SF_FILE_BPF_H

#define O_WRONLY 01
#define O_CREAT	 0100
#define O_TRUNC	 01000

/*
 * What the kernel resolved (sf_fpath, issue 12), after a successful call:
 * the file itself where there is a struct file (open's new fd; the fd of
 * fchmod, fchown, ftruncate), else the base of the typed path (the agent
 * joins the two).  Also called at an io_uring request's completion.  The
 * record's arg0.. are as file_event() fills them; an io_uring open into a
 * fixed-file slot has its slot in arg3 (no fd in the file table).
 */
static __always_inline void file_resolve(struct sf_file_event *e, long ret)
{
	__u16 type = e->hdr.type;
	long fd = -1;

	fpath_none(&e->res2);
	if (ret < 0) {
		fpath_none(&e->res);
		return;
	}
	if (type == SF_EV_OPEN)
		fd = e->arg3 ? -1 : ret;
	else if (type == SF_EV_CHMOD)
		fd = e->arg2;
	else if (type == SF_EV_CHOWN)
		fd = e->arg3;
	else if (type == SF_EV_TRUNCATE)
		fd = e->arg1;
	if (fd >= 0) {
		struct file *f = fd_file(fd);

		ident_file(&e->ident, f);
		fpath_file(&e->res, f);
		return;
	}
	switch (type) {
	case SF_EV_OPEN: /* into a fixed-file slot */
		fpath_none(&e->res);
		break;
	case SF_EV_TRUNCATE: /* truncate(2): no dirfd */
		fpath_base(&e->res, -100, e->path[0]);
		break;
	case SF_EV_SYMLINK: /* the link is path2, at newdirfd */
		fpath_base(&e->res, e->arg0, e->path2[0]);
		break;
	case SF_EV_RENAME:
	case SF_EV_LINK:
		fpath_base(&e->res, e->arg0, e->path[0]);
		if (e->arg0 == e->arg1 &&
		    (e->path[0] == '/') == (e->path2[0] == '/')) {
			e->res2.flags = SF_FP_SAME;
			break;
		}
		fpath_base(&e->res2, e->arg1, e->path2[0]);
		break;
	default: /* unlink, rmdir, mkdir, chmod, chown by path */
		fpath_base(&e->res, e->arg0, e->path[0]);
		break;
	}
}

/* a file event's record out of the scratch (event.bpf.h) */
SUBMIT_VAR_FN(submit_file, sf_file_event, SF_FILE_VARS)

static __always_inline void file_event(long nr, long ret, __u32 slot,
				       __u64 cgid, struct sys_args *a, __u16 xf)
{
	struct sf_file_event *e;
	__u32 l0, l1;
	const void *p1 = 0, *p2 = 0;
	__s64 x0 = 0, x1 = 0, x2 = 0, x3 = 0;
	__u16 type;

	switch (nr) {
	case __NR_open:
		type = SF_EV_OPEN, p1 = (void *)a->a[0];
		x0 = -100, x1 = a->a[1], x2 = a->a[2];
		break;
	case __NR_creat:
		type = SF_EV_OPEN, p1 = (void *)a->a[0];
		x0 = -100, x1 = O_CREAT | O_WRONLY | O_TRUNC, x2 = a->a[1];
		break;
	case __NR_openat:
		type = SF_EV_OPEN, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2], x2 = a->a[3];
		break;
	case __NR_openat2: {
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (void *)a->a[2]);
		type = SF_EV_OPEN, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = how.flags, x2 = how.mode;
		break;
	}
	case __NR_unlink:
		type = SF_EV_UNLINK, p1 = (void *)a->a[0], x0 = -100;
		break;
	case __NR_unlinkat: /* with AT_REMOVEDIR it removes a directory */
		type = a->a[2] & 0x200 ? SF_EV_RMDIR : SF_EV_UNLINK;
		p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2];
		break;
	case __NR_rename:
		type = SF_EV_RENAME, p1 = (void *)a->a[0], p2 = (void *)a->a[1];
		x0 = -100, x1 = -100;
		break;
	case __NR_renameat:
	case __NR_renameat2:
		type = SF_EV_RENAME, p1 = (void *)a->a[1], p2 = (void *)a->a[3];
		x0 = (int)a->a[0], x1 = (int)a->a[2];
		x2 = nr == __NR_renameat2 ? a->a[4] : 0;
		break;
	case __NR_mkdir:
		type = SF_EV_MKDIR, p1 = (void *)a->a[0], x0 = -100,
		x1 = a->a[1];
		break;
	case __NR_mkdirat:
		type = SF_EV_MKDIR, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2];
		break;
	case __NR_rmdir:
		type = SF_EV_RMDIR, p1 = (void *)a->a[0], x0 = -100;
		break;
	case __NR_link:
		type = SF_EV_LINK, p1 = (void *)a->a[0], p2 = (void *)a->a[1];
		x0 = -100, x1 = -100;
		break;
	case __NR_linkat:
		type = SF_EV_LINK, p1 = (void *)a->a[1], p2 = (void *)a->a[3];
		x0 = (int)a->a[0], x1 = (int)a->a[2], x2 = a->a[4];
		break;
	case __NR_symlink:
		type = SF_EV_SYMLINK, p1 = (void *)a->a[0],
		p2 = (void *)a->a[1];
		x0 = -100;
		break;
	case __NR_symlinkat:
		type = SF_EV_SYMLINK, p1 = (void *)a->a[0],
		p2 = (void *)a->a[2];
		x0 = (int)a->a[1];
		break;
	case __NR_chmod:
		type = SF_EV_CHMOD, p1 = (void *)a->a[0];
		x0 = -100, x1 = a->a[1], x2 = -1;
		break;
	case __NR_fchmod:
		type = SF_EV_CHMOD, x0 = -100, x1 = a->a[1], x2 = (int)a->a[0];
		break;
	case __NR_fchmodat:
	case __NR_fchmodat2:
		type = SF_EV_CHMOD, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = a->a[2], x2 = -1;
		break;
	case __NR_chown:
	case __NR_lchown:
		type = SF_EV_CHOWN, p1 = (void *)a->a[0];
		x0 = -100, x1 = (int)a->a[1], x2 = (int)a->a[2], x3 = -1;
		break;
	case __NR_fchown:
		type = SF_EV_CHOWN, x0 = -100, x1 = (int)a->a[1];
		x2 = (int)a->a[2], x3 = (int)a->a[0];
		break;
	case __NR_fchownat:
		type = SF_EV_CHOWN, p1 = (void *)a->a[1];
		x0 = (int)a->a[0], x1 = (int)a->a[2], x2 = (int)a->a[3],
		x3 = -1;
		break;
	case __NR_truncate:
		type = SF_EV_TRUNCATE, p1 = (void *)a->a[0], x0 = a->a[1],
		x1 = -1;
		break;
	case __NR_ftruncate:
		type = SF_EV_TRUNCATE, x0 = a->a[1], x1 = (int)a->a[0];
		break;
	default:
		return;
	}

	e = reserve_var(slot, type);
	if (!e)
		return;
	fill_sys_hdr(&e->hdr, type, slot, cgid, nr, ret, xf);
	e->arg0 = x0, e->arg1 = x1, e->arg2 = x2, e->arg3 = x3;
	l0 = read_path(e->path, p1, &e->hdr.flags, SF_F_PATH_TRUNC,
		       SF_F_PATH_FAULT);
	l1 = read_path(e->path2, p2, &e->hdr.flags, SF_F_PATH2_TRUNC,
		       SF_F_PATH2_FAULT);
	/* the file itself, where a struct file is at hand; else the base */
	e->ident.flags = 0;
	file_resolve(e, ret);
	submit_file((struct scratch *)e, l0, l1, e->res.kp.len, e->res2.kp.len);
}

#endif

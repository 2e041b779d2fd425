/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libbpf-wasm.h: a libbpf-style API for C guests of wasm-bpf, header-only,
 * over the raw host ABI of wasm-bpf.h.
 *
 * Skeletons come from `wasm-bpf gen skeleton FOO.bpf.o > foo.skel.h`:
 *
 *	skel = foo_bpf__open();            globals readable and writable
 *	skel->rodata->x = 1;               (also skel->data, skel->bss)
 *	foo_bpf__load(skel);               the values reach the kernel
 *	foo_bpf__attach(skel);
 *	rb = bpf_buffer__open(skel->maps.rb, handle_event, NULL);
 *	while (bpf_buffer__poll(rb, 100) >= 0) ;
 *	bpf_object__read_globals(skel->obj); read .data/.bss back from the kernel
 *	bpf_buffer__free(rb); foo_bpf__destroy(skel);
 *
 * Errors follow libbpf 1.0: functions returning int return 0 (or a count)
 * on success and a negative error code, with errno set, on failure;
 * functions returning a pointer return NULL and set errno. The codes are
 * the guest's own (wasi-libc's EPERM, ENOENT, ...), converted from the
 * host's Linux numbers, so strerror() and comparisons with E* work.
 *
 * Built with -DWASM_BPF_EXT (a guest that then runs only on runtimes with
 * the wasm_bpf_ext extensions, such as wasm-bpf-go), errno is the cause
 * the runtime found, also for a failed load (EPERM without privileges,
 * EACCES for the verifier, ...), and libbpf_wasm_last_error() returns the
 * runtime's explanation: the cause and its fix, as the runtime logs it.
 * Without it, wasm_load_bpf_object says only "failed": a failed load is
 * -EINVAL and only the runtime's log says why.
 *
 * Differences from libbpf, forced by the ABI: open and load are one host
 * call, so .rodata and .data are written into the embedded object's bytes
 * before that call, and .bss through its map right after it; programs are
 * attached by name; links live until bpf_object__close (there is no
 * detach). */
#ifndef LIBBPF_WASM_H
#define LIBBPF_WASM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasm-bpf.h"

/* The largest record bpf_buffer__poll hands to a callback whole; longer
 * records are cut to this size. Raise it before including this header. */
#ifndef BPF_BUFFER_MAX_RECORD_SIZE
#define BPF_BUFFER_MAX_RECORD_SIZE (64 * 1024)
#endif

#define LIBBPF_WASM_API static inline __attribute__((unused))

/* Kernel map type numbers this header needs. */
#define LIBBPF_WASM_MAP_TYPE_PERF_EVENT_ARRAY 4
#define LIBBPF_WASM_MAP_TYPE_RINGBUF 27

#ifndef BPF_ANY
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2
#define BPF_F_LOCK 4
#endif

#ifdef WASM_BPF_EXT
/* The Linux errno of the guest's last failed host call (0 if none failed)
 * and, in buf, the runtime's explanation of it, cut to size - 1 bytes and
 * NUL-terminated (docs/abi.md). */
int wasm_bpf_last_error(char *buf, int size)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_last_error")));
#endif

/* The runtime's explanation of the last failed call ("" without
 * -DWASM_BPF_EXT): valid until the next call of this function. */
LIBBPF_WASM_API const char *libbpf_wasm_last_error(void)
{
#ifdef WASM_BPF_EXT
	static char msg[4096];

	if (wasm_bpf_last_error(msg, sizeof(msg)) <= 0)
		msg[0] = '\0';
	return msg;
#else
	return "";
#endif
}

/* Linux errno (as the host returns it, negated) to the guest's errno. */
LIBBPF_WASM_API int libbpf_wasm_errno(int linux_errno)
{
	switch (linux_errno) {
	case 1: return EPERM;
	case 2: return ENOENT;
	case 3: return ESRCH;
	case 4: return EINTR;
	case 5: return EIO;
	case 6: return ENXIO;
	case 7: return E2BIG;
	case 8: return ENOEXEC;
	case 9: return EBADF;
	case 11: return EAGAIN;
	case 12: return ENOMEM;
	case 13: return EACCES;
	case 14: return EFAULT;
	case 16: return EBUSY;
	case 17: return EEXIST;
	case 19: return ENODEV;
	case 20: return ENOTDIR;
	case 22: return EINVAL;
	case 24: return EMFILE;
	case 28: return ENOSPC;
	case 34: return ERANGE;
	case 38: return ENOSYS;
	case 40: return ELOOP;
	case 71: return EPROTO;
	case 75: return EOVERFLOW;
	case 95: return EOPNOTSUPP;
	case 110: return ETIMEDOUT;
	case 524: return ENOTSUP; /* the kernel's internal ENOTSUPP */
	}
	return EIO;
}

/* Converts a host result: >= 0 is returned as is; < 0 sets errno and
 * returns the negated guest errno. */
LIBBPF_WASM_API int libbpf_wasm_err(int host_ret)
{
	if (host_ret >= 0)
		return host_ret;
	errno = libbpf_wasm_errno(-host_ret);
	return -errno;
}

struct bpf_object;

struct bpf_map {
	struct bpf_object *obj;
	const char *name;	/* libbpf's name: ".rodata" for the global ones */
	uint32_t type;
	int fd;			/* -1 until loaded */
	void *mmaped;		/* globals: the guest's copy of the section */
	size_t global_size;
	long elf_offset;	/* globals: file offset, -1 for .bss */
};

struct bpf_program {
	struct bpf_object *obj;
	const char *name;
	const char *sec;
	int needs_target;
};

struct bpf_object {
	const char *name;
	uint64_t handle;	/* 0 until loaded */
	unsigned char *elf;	/* a writable copy of the embedded object */
	size_t elf_sz;
	int nr_maps, nr_progs;
	struct bpf_map *maps;
	struct bpf_program *progs;
};

/* What a generated skeleton describes; filled by NAME__create_skeleton. */
struct bpf_map_skeleton {
	const char *name;
	struct bpf_map **map;
	uint32_t type;
	void **mmaped;		/* globals only */
	size_t global_size;
	long elf_offset;
};

struct bpf_prog_skeleton {
	const char *name;
	const char *sec;
	struct bpf_program **prog;
	int needs_target;
};

struct bpf_object_skeleton {
	const char *name;
	const unsigned char *data;
	size_t data_sz;
	struct bpf_object **obj;
	int map_cnt;
	struct bpf_map_skeleton *maps;
	int prog_cnt;
	struct bpf_prog_skeleton *progs;
};

LIBBPF_WASM_API int bpf_map__fd(const struct bpf_map *map)
{
	if (!map || map->fd < 0) {
		errno = EINVAL;
		return -EINVAL;
	}
	return map->fd;
}

LIBBPF_WASM_API const char *bpf_map__name(const struct bpf_map *map)
{
	return map ? map->name : NULL;
}

LIBBPF_WASM_API const char *bpf_program__name(const struct bpf_program *prog)
{
	return prog ? prog->name : NULL;
}

/* Finds a map of a loaded or opened object by its libbpf name. */
LIBBPF_WASM_API struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj,
							     const char *name)
{
	int i;

	for (i = 0; obj && i < obj->nr_maps; i++)
		if (!strcmp(obj->maps[i].name, name))
			return &obj->maps[i];
	errno = ENOENT;
	return NULL;
}

/* Closes the object in the kernel (its programs, maps and links go) and
 * frees it. */
LIBBPF_WASM_API void bpf_object__close(struct bpf_object *obj)
{
	int i;

	if (!obj)
		return;
	if (obj->handle)
		wasm_close_bpf_object(obj->handle);
	for (i = 0; i < obj->nr_maps; i++)
		free(obj->maps[i].mmaped);
	free(obj->maps);
	free(obj->progs);
	free(obj->elf);
	free(obj);
}

/* ---- Map operations (libbpf's bpf.h), on fds from bpf_map__fd ---- */

LIBBPF_WASM_API int bpf_map_lookup_elem_flags(int fd, const void *key, void *value,
					      uint64_t flags)
{
	return libbpf_wasm_err(wasm_bpf_map_operate(fd, WASM_BPF_MAP_LOOKUP_ELEM, (void *)key,
						    value, NULL, flags));
}

LIBBPF_WASM_API int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem_flags(fd, key, value, 0);
}

LIBBPF_WASM_API int bpf_map_update_elem(int fd, const void *key, const void *value,
					uint64_t flags)
{
	return libbpf_wasm_err(wasm_bpf_map_operate(fd, WASM_BPF_MAP_UPDATE_ELEM, (void *)key,
						    (void *)value, NULL, flags));
}

LIBBPF_WASM_API int bpf_map_delete_elem_flags(int fd, const void *key, uint64_t flags)
{
	return libbpf_wasm_err(wasm_bpf_map_operate(fd, WASM_BPF_MAP_DELETE_ELEM, (void *)key,
						    NULL, NULL, flags));
}

LIBBPF_WASM_API int bpf_map_delete_elem(int fd, const void *key)
{
	return bpf_map_delete_elem_flags(fd, key, 0);
}

/* key NULL returns the first key; -ENOENT after the last. */
LIBBPF_WASM_API int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	return libbpf_wasm_err(wasm_bpf_map_operate(fd, WASM_BPF_MAP_GET_NEXT_KEY, (void *)key,
						    NULL, next_key, 0));
}

/* ---- Globals ---- */

/* Reads .data and .bss back from the kernel (they are array maps the BPF
 * programs write) into skel->data and skel->bss. Returns 0 or a negative
 * errno. */
LIBBPF_WASM_API int bpf_object__read_globals(struct bpf_object *obj)
{
	uint32_t zero = 0;
	int i, err;

	for (i = 0; i < obj->nr_maps; i++) {
		struct bpf_map *m = &obj->maps[i];

		if (!m->mmaped || m->fd < 0 || !strcmp(m->name, ".rodata"))
			continue;
		err = bpf_map_lookup_elem(m->fd, &zero, m->mmaped);
		if (err)
			return err;
	}
	return 0;
}

/* Writes skel->data and skel->bss to the kernel after load (load itself
 * already does it once). Returns 0 or a negative errno. */
LIBBPF_WASM_API int bpf_object__write_globals(struct bpf_object *obj)
{
	uint32_t zero = 0;
	int i, err;

	for (i = 0; i < obj->nr_maps; i++) {
		struct bpf_map *m = &obj->maps[i];

		if (!m->mmaped || m->fd < 0 || !strcmp(m->name, ".rodata"))
			continue;
		err = bpf_map_update_elem(m->fd, &zero, m->mmaped, BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/* ---- Skeletons ---- */

LIBBPF_WASM_API int bpf_object__open_skeleton(struct bpf_object_skeleton *s)
{
	struct bpf_object *obj;
	int i;

	obj = (struct bpf_object *)calloc(1, sizeof(*obj));
	if (!obj)
		return -ENOMEM;
	*s->obj = obj;
	obj->name = s->name;
	obj->elf = (unsigned char *)malloc(s->data_sz);
	obj->maps = (struct bpf_map *)calloc(s->map_cnt ? s->map_cnt : 1, sizeof(*obj->maps));
	obj->progs = (struct bpf_program *)calloc(s->prog_cnt ? s->prog_cnt : 1,
						  sizeof(*obj->progs));
	if (!obj->elf || !obj->maps || !obj->progs)
		return -ENOMEM;
	/* A private, writable copy: globals are patched into it at load. */
	memcpy(obj->elf, s->data, s->data_sz);
	obj->elf_sz = s->data_sz;

	obj->nr_maps = s->map_cnt;
	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *ms = &s->maps[i];
		struct bpf_map *m = &obj->maps[i];

		m->obj = obj;
		m->name = ms->name;
		m->type = ms->type;
		m->fd = -1;
		m->elf_offset = ms->elf_offset;
		m->global_size = ms->global_size;
		if (ms->mmaped) {
			/* calloc: .bss starts zeroed, as in the kernel. */
			m->mmaped = calloc(1, ms->global_size ? ms->global_size : 1);
			if (!m->mmaped)
				return -ENOMEM;
			if (ms->elf_offset >= 0)
				memcpy(m->mmaped, obj->elf + ms->elf_offset, ms->global_size);
			*ms->mmaped = m->mmaped;
		}
		*ms->map = m;
	}
	obj->nr_progs = s->prog_cnt;
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *ps = &s->progs[i];
		struct bpf_program *p = &obj->progs[i];

		p->obj = obj;
		p->name = ps->name;
		p->sec = ps->sec;
		p->needs_target = ps->needs_target;
		*ps->prog = p;
	}
	return 0;
}

LIBBPF_WASM_API int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
	struct bpf_object *obj = *s->obj;
	int i, fd, err;

	if (obj->handle)
		return libbpf_wasm_err(-16 /* EBUSY: loaded already */);
	/* .rodata and .data: libbpf takes their initial values from the
	 * object's bytes, so the guest's copies go there (and the verifier
	 * still sees .rodata as constants). */
	for (i = 0; i < obj->nr_maps; i++) {
		struct bpf_map *m = &obj->maps[i];

		if (m->mmaped && m->elf_offset >= 0)
			memcpy(obj->elf + m->elf_offset, m->mmaped, m->global_size);
	}
	obj->handle = wasm_load_bpf_object(obj->elf, (int)obj->elf_sz);
	if (!obj->handle) {
#ifdef WASM_BPF_EXT
		/* The runtime tells why; the load itself returns only 0. */
		int cause = wasm_bpf_last_error(NULL, 0);

		if (cause > 0)
			return libbpf_wasm_err(-cause);
#endif
		return libbpf_wasm_err(-22 /* EINVAL; the host logs why */);
	}
	for (i = 0; i < obj->nr_maps; i++) {
		struct bpf_map *m = &obj->maps[i];

		fd = wasm_bpf_map_fd_by_name(obj->handle, m->name);
		if (fd < 0) {
			/* libbpf drops an internal map with nothing in it. */
			if (m->mmaped)
				continue;
			return libbpf_wasm_err(fd);
		}
		m->fd = fd;
	}
	/* .bss has no bytes in the object: write it through its map, before
	 * anything is attached. */
	for (i = 0; i < obj->nr_maps; i++) {
		struct bpf_map *m = &obj->maps[i];
		uint32_t zero = 0;

		if (m->mmaped && m->elf_offset < 0 && m->fd >= 0) {
			err = bpf_map_update_elem(m->fd, &zero, m->mmaped, BPF_ANY);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Attaches prog as its section says (target NULL or "") or to a target:
 * an interface name for socket and xdp programs, a cgroup v2 directory for
 * cgroup and sockops programs. Returns 0 or a negative errno. */
LIBBPF_WASM_API int bpf_program__attach_target(struct bpf_program *prog, const char *target)
{
	if (!prog || !prog->obj->handle)
		return libbpf_wasm_err(-22);
	return libbpf_wasm_err(
		wasm_attach_bpf_program(prog->obj->handle, prog->name, target ? target : ""));
}

LIBBPF_WASM_API int bpf_program__attach(struct bpf_program *prog)
{
	return bpf_program__attach_target(prog, NULL);
}

LIBBPF_WASM_API int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
	int i, err;

	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *p = *s->progs[i].prog;

		if (p->needs_target)
			continue;
		err = bpf_program__attach(p);
		if (err)
			return err;
	}
	return 0;
}

LIBBPF_WASM_API void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
	if (!s)
		return;
	if (s->obj)
		bpf_object__close(*s->obj);
	free(s->maps);
	free(s->progs);
	free(s);
}

/* ---- Ring and perf buffers ---- */

/* Called for each record, with the guest's copy of it. A negative result
 * stops the poll and is what bpf_buffer__poll returns. */
typedef int (*bpf_buffer_sample_fn)(void *ctx, void *data, size_t size);

struct bpf_buffer {
	struct bpf_map *map;
	bpf_buffer_sample_fn fn;
	void *ctx;
	char *buf;
	/* With WASM_BPF_EXT: buf[off:len] holds records of the last batch that
	 * a callback's negative result left undelivered. */
	int off, len;
};

#ifdef WASM_BPF_EXT
/* The batched poll of this runtime (docs/abi.md): many records per
 * host call and no call back into the guest. A guest built with
 * -DWASM_BPF_EXT runs only on runtimes that provide wasm_bpf_ext. */
int wasm_bpf_buffer_poll_batch(uint64_t handle, int fd, void *buf, int buf_size, int timeout_ms)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_buffer_poll_batch")));

/* Hands the records in b->buf[b->off:b->len] to the callback, in order,
 * until one returns < 0 (what is left is kept for the next poll). */
static inline int libbpf_wasm_deliver(struct bpf_buffer *b)
{
	int count = 0;

	while (b->off < b->len) {
		uint32_t size;

		memcpy(&size, b->buf + b->off, 4);
		char *data = b->buf + b->off + 4;
		b->off += 4 + (int)((size + 3) & ~3u);
		int rc = b->fn(b->ctx, data, size);
		if (rc < 0)
			return rc;
		count++;
	}
	return count;
}
#endif

/* A buffer over a BPF_MAP_TYPE_RINGBUF or BPF_MAP_TYPE_PERF_EVENT_ARRAY
 * map of a loaded object; several may be polled in turn. NULL and errno
 * on error. Link with -Wl,--export-table: the host calls sample_cb
 * through the exported function table. */
LIBBPF_WASM_API struct bpf_buffer *bpf_buffer__open(struct bpf_map *map,
						    bpf_buffer_sample_fn sample_cb, void *ctx)
{
	struct bpf_buffer *b;

	if (!map || map->fd < 0 || !sample_cb ||
	    (map->type != LIBBPF_WASM_MAP_TYPE_RINGBUF &&
	     map->type != LIBBPF_WASM_MAP_TYPE_PERF_EVENT_ARRAY)) {
		errno = EINVAL;
		return NULL;
	}
	b = (struct bpf_buffer *)calloc(1, sizeof(*b));
	if (!b || !(b->buf = (char *)aligned_alloc(8, BPF_BUFFER_MAX_RECORD_SIZE))) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->map = map;
	b->fn = sample_cb;
	b->ctx = ctx;
	return b;
}

/* Waits up to timeout_ms for records and hands each ready one to the
 * callback. Returns the number of records, or a negative errno (-EINTR
 * when the wait was interrupted). */
LIBBPF_WASM_API int bpf_buffer__poll(struct bpf_buffer *b, int timeout_ms)
{
	if (!b)
		return libbpf_wasm_err(-22);
#ifdef WASM_BPF_EXT
	if (b->off >= b->len) {
		int n = wasm_bpf_buffer_poll_batch(b->map->obj->handle, b->map->fd, b->buf,
						   BPF_BUFFER_MAX_RECORD_SIZE, timeout_ms);
		if (n < 0)
			return libbpf_wasm_err(n);
		b->off = 0;
		b->len = n;
	}
	return libbpf_wasm_deliver(b);
#else
	return libbpf_wasm_err(wasm_bpf_buffer_poll(b->map->obj->handle, b->map->fd,
						    (int32_t)(intptr_t)b->fn,
						    (uint32_t)(uintptr_t)b->ctx, b->buf,
						    BPF_BUFFER_MAX_RECORD_SIZE, timeout_ms));
#endif
}

LIBBPF_WASM_API void bpf_buffer__free(struct bpf_buffer *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

#endif /* LIBBPF_WASM_H */

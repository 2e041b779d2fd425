// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Copyright (c) 2020 Facebook */
/* The user-space half of libbpf-bootstrap's bootstrap as a wasm-bpf guest.
 * Instead of a libbpf skeleton it embeds bootstrap.bpf.o and drives it
 * through the host functions of wasm-bpf.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wasm-bpf.h"
#include "bootstrap.h"
#include "bootstrap.bpf.o.h" /* xxd -i bootstrap.bpf.o: bootstrap_bpf_o[] */

/* Host results are -errno in Linux numbering; wasi-libc's E* constants
 * have other values (its EINTR is 27), so the one we test is spelled out. */
#define LINUX_EINTR 4

static struct env {
	int verbose;
	long min_duration_ms;
} env;

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [-v] [-d MS]\n"
		"BPF bootstrap demo application.\n"
		"\n"
		"It traces process start and exits and shows associated\n"
		"information (filename, process duration, PID and PPID, etc).\n"
		"\n"
		"  -d MS  Minimum process duration (ms) to report\n"
		"  -v     Verbose debug output\n",
		prog);
}

/* Returns 0, or -1 on a bad command line. */
static int parse_args(int argc, char **argv)
{
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "d:vh")) != -1) {
		switch (opt) {
		case 'v':
			env.verbose = 1;
			break;
		case 'd':
			/* wasm32 long is 32 bits: at most ~24 days, and
			 * ms * 1000000 always fits in 64 bits. */
			errno = 0;
			env.min_duration_ms = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || env.min_duration_ms <= 0) {
				fprintf(stderr, "Invalid duration: %s\n", optarg);
				usage(argv[0]);
				return -1;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Unexpected argument: %s\n", argv[optind]);
		usage(argv[0]);
		return -1;
	}
	return 0;
}

/*
 * Setting .rodata before load.
 *
 * A libbpf skeleton writes skel->rodata->min_duration_ns between open and
 * load; wasm_load_bpf_object opens and loads in one call, so there is no
 * such moment. But libbpf builds the .rodata map from the initial bytes of
 * the object's .rodata section, so writing the value into the ELF image
 * before handing it to the host has the same effect (and the verifier still
 * sees a constant and prunes the dead branches). This is what the existing
 * wasm-bpf toolchain does too.
 *
 * wasi-libc has no <elf.h>, so the few ELF64 definitions needed are here.
 * The embedded object has no alignment, hence memcpy into these structs;
 * that reads the fields right because wasm32 is little-endian and only
 * little-endian objects are accepted. Every offset and size read from the
 * file is checked against the buffer before use.
 */
#define EI_CLASS	 4
#define EI_DATA		 5
#define ELFCLASS64	 2
#define ELFDATA2LSB	 1
#define SHT_SYMTAB	 2
#define SHT_STRTAB	 3
#define SHT_NOBITS	 8
#define STT_OBJECT	 1
#define SHN_LORESERVE	 0xff00

struct elf64_ehdr {
	unsigned char e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_shdr {
	uint32_t sh_name;
	uint32_t sh_type;
	uint64_t sh_flags;
	uint64_t sh_addr;
	uint64_t sh_offset;
	uint64_t sh_size;
	uint32_t sh_link;
	uint32_t sh_info;
	uint64_t sh_addralign;
	uint64_t sh_entsize;
};

struct elf64_sym {
	uint32_t st_name;
	unsigned char st_info;
	unsigned char st_other;
	uint16_t st_shndx;
	uint64_t st_value;
	uint64_t st_size;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "Elf64_Ehdr layout");
_Static_assert(sizeof(struct elf64_shdr) == 64, "Elf64_Shdr layout");
_Static_assert(sizeof(struct elf64_sym) == 24, "Elf64_Sym layout");

struct elf {
	unsigned char *buf;
	uint64_t size;
	struct elf64_ehdr eh;
};

/* Whether [off, off + len) lies within [0, size), without overflowing. */
static int in_bounds(uint64_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* The section table itself was bounds-checked in elf_open. */
static int elf_shdr(const struct elf *elf, uint32_t idx, struct elf64_shdr *sh)
{
	if (idx >= elf->eh.e_shnum)
		return -1;
	memcpy(sh, elf->buf + elf->eh.e_shoff + (uint64_t)idx * sizeof(*sh), sizeof(*sh));
	return 0;
}

/* The NUL-terminated string at off in string table strtab, or NULL. */
static const char *elf_str(const struct elf *elf, const struct elf64_shdr *strtab, uint32_t off)
{
	const char *s;

	if (strtab->sh_type != SHT_STRTAB ||
	    !in_bounds(elf->size, strtab->sh_offset, strtab->sh_size) || off >= strtab->sh_size)
		return NULL;
	s = (const char *)elf->buf + strtab->sh_offset + off;
	return memchr(s, '\0', strtab->sh_size - off) ? s : NULL;
}

static int elf_open(struct elf *elf, unsigned char *buf, uint64_t size)
{
	elf->buf = buf;
	elf->size = size;
	if (size < sizeof(elf->eh))
		return -1;
	memcpy(&elf->eh, buf, sizeof(elf->eh));
	if (memcmp(elf->eh.e_ident, "\177ELF", 4) || elf->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    elf->eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -1;
	/* e_shnum == 0 would mean "more than 0xff00 sections, see section 0":
	 * never the case for a BPF object, so not supported. */
	if (elf->eh.e_shentsize != sizeof(struct elf64_shdr) || elf->eh.e_shnum == 0 ||
	    elf->eh.e_shstrndx >= elf->eh.e_shnum ||
	    !in_bounds(size, elf->eh.e_shoff, (uint64_t)elf->eh.e_shnum * sizeof(struct elf64_shdr)))
		return -1;
	return 0;
}

/* Overwrites the initial value of the .rodata variable `name` in the BPF
 * object obj with val (val_sz bytes, which must be the variable's size).
 * Returns 0, or -1 after saying why on stderr. */
static int bpf_obj_set_rodata(unsigned char *obj, uint64_t obj_sz, const char *name,
			      const void *val, uint64_t val_sz)
{
	struct elf64_shdr symtab, strtab, shstrtab, sec;
	struct elf64_sym sym;
	const char *sname;
	struct elf elf;
	uint64_t i, nsyms;
	uint32_t idx;

	if (elf_open(&elf, obj, obj_sz)) {
		fprintf(stderr, "BPF object is not a valid little-endian ELF64 file\n");
		return -1;
	}
	elf_shdr(&elf, elf.eh.e_shstrndx, &shstrtab);

	for (idx = 0; idx < elf.eh.e_shnum; idx++) {
		elf_shdr(&elf, idx, &symtab);
		if (symtab.sh_type == SHT_SYMTAB)
			break;
	}
	if (idx == elf.eh.e_shnum || symtab.sh_entsize != sizeof(sym) ||
	    !in_bounds(elf.size, symtab.sh_offset, symtab.sh_size) ||
	    elf_shdr(&elf, symtab.sh_link, &strtab)) {
		fprintf(stderr, "BPF object has no usable symbol table\n");
		return -1;
	}

	nsyms = symtab.sh_size / sizeof(sym);
	for (i = 0; i < nsyms; i++) {
		const char *s;

		memcpy(&sym, elf.buf + symtab.sh_offset + i * sizeof(sym), sizeof(sym));
		s = elf_str(&elf, &strtab, sym.st_name);
		if (s && (sym.st_info & 0xf) == STT_OBJECT && !strcmp(s, name))
			break;
	}
	if (i == nsyms) {
		fprintf(stderr, "BPF object has no variable %s\n", name);
		return -1;
	}

	/* A variable that is not `const volatile` lands in .data or .bss,
	 * which the guest cannot set this way: say so rather than patch. */
	if (sym.st_shndx == 0 || sym.st_shndx >= SHN_LORESERVE ||
	    elf_shdr(&elf, sym.st_shndx, &sec) ||
	    !(sname = elf_str(&elf, &shstrtab, sec.sh_name)) || strcmp(sname, ".rodata") ||
	    sec.sh_type == SHT_NOBITS) {
		fprintf(stderr, "BPF variable %s is not in .rodata\n", name);
		return -1;
	}
	if (sym.st_size != val_sz || !in_bounds(sec.sh_size, sym.st_value, sym.st_size) ||
	    !in_bounds(elf.size, sec.sh_offset, sec.sh_size)) {
		fprintf(stderr, "BPF variable %s: unexpected size or position\n", name);
		return -1;
	}

	memcpy(elf.buf + sec.sh_offset + sym.st_value, val, val_sz);
	if (env.verbose)
		fprintf(stderr, "set %s at .rodata+%llu (file offset %llu)\n", name,
			(unsigned long long)sym.st_value,
			(unsigned long long)(sec.sh_offset + sym.st_value));
	return 0;
}

static int handle_event(void *ctx, void *data, unsigned int data_sz)
{
	struct event *e = data;
	struct tm *tm;
	char ts[32];
	time_t t;

	if (data_sz < sizeof(*e)) {
		fprintf(stderr, "short record: %u bytes, expected %zu\n", data_sz, sizeof(*e));
		return 0;
	}
	/* The record is a copy in our buffer: terminate its strings here
	 * rather than trust every path on the BPF side to have done so. */
	e->comm[sizeof(e->comm) - 1] = '\0';
	e->filename[sizeof(e->filename) - 1] = '\0';

	/* WASI has no time zone database: wasi-libc's localtime is UTC. */
	time(&t);
	tm = localtime(&t);
	strftime(ts, sizeof(ts), "%H:%M:%S", tm);

	if (e->exit_event) {
		printf("%-8s %-5s %-16s %-7d %-7d [%u]", ts, "EXIT", e->comm, e->pid, e->ppid,
		       e->exit_code);
		if (e->duration_ns)
			printf(" (%llums)", (unsigned long long)(e->duration_ns / 1000000));
		printf("\n");
	} else {
		printf("%-8s %-5s %-16s %-7d %-7d %s\n", ts, "EXEC", e->comm, e->pid, e->ppid,
		       e->filename);
	}
	/* stdout is block-buffered when it is not a terminal: flush per
	 * event so that a reader sees it now, not a few kilobytes later. */
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	/* One record at a time: the host copies each into this buffer and
	 * calls handle_event on it, so it must be aligned for struct event. */
	static char buf[sizeof(struct event)] __attribute__((aligned(8)));
	/* Assigned first so that the compiler checks handle_event's type. */
	wasm_bpf_sample_fn sample = handle_event;
	uint64_t handle;
	int rb_fd, err;

	if (parse_args(argc, argv))
		return 1;

	if (env.min_duration_ms) {
		uint64_t min_duration_ns = (uint64_t)env.min_duration_ms * 1000000ULL;

		if (bpf_obj_set_rodata(bootstrap_bpf_o, bootstrap_bpf_o_len, "min_duration_ns",
				       &min_duration_ns, sizeof(min_duration_ns)))
			return 1;
	}

	/* Load & verify BPF programs (the host logs the verifier's reasons) */
	handle = wasm_load_bpf_object(bootstrap_bpf_o, bootstrap_bpf_o_len);
	if (!handle) {
		fprintf(stderr, "Failed to load and verify BPF object\n");
		return 1;
	}

	/* Attach tracepoints */
	err = wasm_attach_bpf_program(handle, "handle_exec", "");
	if (err < 0) {
		fprintf(stderr, "Failed to attach handle_exec: %d\n", err);
		goto cleanup;
	}
	err = wasm_attach_bpf_program(handle, "handle_exit", "");
	if (err < 0) {
		fprintf(stderr, "Failed to attach handle_exit: %d\n", err);
		goto cleanup;
	}

	rb_fd = wasm_bpf_map_fd_by_name(handle, "rb");
	if (rb_fd < 0) {
		err = rb_fd;
		fprintf(stderr, "Failed to find ring buffer map rb: %d\n", err);
		goto cleanup;
	}
	if (env.verbose)
		fprintf(stderr, "loaded, attached; polling ring buffer fd %d\n", rb_fd);

	/* Process events */
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	fflush(stdout);
	for (;;) {
		err = wasm_bpf_buffer_poll(handle, rb_fd, (int32_t)sample, 0, buf, sizeof(buf),
					   100 /* timeout, ms */);
		/* An interrupted wait is how libbpf-bootstrap ends on Ctrl-C;
		 * here the runtime normally ends the guest itself. */
		if (err == -LINUX_EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			fprintf(stderr, "Error polling ring buffer: %d\n", err);
			break;
		}
	}

cleanup:
	wasm_close_bpf_object(handle);
	return err < 0 ? 1 : 0;
}

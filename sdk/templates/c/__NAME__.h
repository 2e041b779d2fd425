/* __NAME__.h: the record the BPF program sends and the guest reads. Both
 * halves include it, so it uses only types of one size everywhere. */
#ifndef __IDENT___H
#define __IDENT___H

#define COMM_LEN 16
#define FILENAME_LEN 128

struct event {
	int pid;
	char comm[COMM_LEN];
	char filename[FILENAME_LEN];
};

#endif

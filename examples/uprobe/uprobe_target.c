// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The native program the uprobe example traces: uprobe_target A B calls
 * uprobe_add(A, B) once and prints the sum. */
#include <stdio.h>
#include <stdlib.h>

/* noinline and used: the probe needs the function's own symbol. */
__attribute__((noinline, used)) int uprobe_add(int a, int b)
{
	asm volatile("" ::: "memory");
	return a + b;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "Usage: %s A B\n", argv[0]);
		return 1;
	}
	printf("%d\n", uprobe_add(atoi(argv[1]), atoi(argv[2])));
	return 0;
}

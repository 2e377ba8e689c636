#ifndef COUNT_H
#define COUNT_H
#include <stddef.h>

struct counts {
  unsigned long lines, words, bytes;
};

void count_chunk(const char *chunk, size_t length, struct counts *total, int *in_word);
#endif

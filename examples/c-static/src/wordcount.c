/* wc -w for standard input: a small static binary for the scratch image. */
#include <stdio.h>

#include "count.h"

int main(void) {
  char buffer[65536];
  size_t read_bytes;
  struct counts total = {0, 0, 0};
  int in_word = 0;
  while ((read_bytes = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
    count_chunk(buffer, read_bytes, &total, &in_word);
  }
  printf("%lu %lu %lu\n", total.lines, total.words, total.bytes);
  return 0;
}

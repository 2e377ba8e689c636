#include <ctype.h>

#include "count.h"

void count_chunk(const char *chunk, size_t length, struct counts *total, int *in_word) {
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)chunk[i];
    total->bytes++;
    if (c == '\n') total->lines++;
    if (isspace(c)) {
      *in_word = 0;
    } else if (!*in_word) {
      *in_word = 1;
      total->words++;
    }
  }
}

#ifndef WORDFREQ_H
#define WORDFREQ_H

#include <stddef.h>

/* Longer words are cut to this many bytes, the terminating NUL included. */
#define MAX_WORD 64

/* One distinct word and how often it occurred. */
struct word_count {
    char word[MAX_WORD];
    size_t count;
};

/* A growing table of words, in order of first occurrence until sorted. */
struct word_table {
    struct word_count *items;
    size_t length;
    size_t capacity;
};

/* Adds one occurrence of word (lower-cased, shorter than MAX_WORD); 0, or -1 when out of memory. */
int table_add(struct word_table *table, const char *word);

/* Sorts by count (descending), then by word (ascending), so equal inputs give equal outputs. */
void table_sort(struct word_table *table);

void table_free(struct word_table *table);

#endif

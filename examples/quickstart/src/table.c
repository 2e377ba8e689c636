#include "wordfreq.h"

#include <stdlib.h>
#include <string.h>

int table_add(struct word_table *table, const char *word)
{
    for (size_t i = 0; i < table->length; i++) {
        if (strcmp(table->items[i].word, word) == 0) {
            table->items[i].count++;
            return 0;
        }
    }
    if (table->length == table->capacity) {
        size_t capacity = table->capacity == 0 ? 64 : table->capacity * 2;
        struct word_count *items = realloc(table->items, capacity * sizeof *items);
        if (items == NULL)
            return -1;
        table->items = items;
        table->capacity = capacity;
    }
    struct word_count *item = &table->items[table->length];
    strncpy(item->word, word, MAX_WORD - 1);
    item->word[MAX_WORD - 1] = '\0';
    item->count = 1;
    table->length++;
    return 0;
}

static int compare(const void *left, const void *right)
{
    const struct word_count *a = left;
    const struct word_count *b = right;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return strcmp(a->word, b->word);
}

void table_sort(struct word_table *table)
{
    if (table->length > 1)
        qsort(table->items, table->length, sizeof *table->items, compare);
}

void table_free(struct word_table *table)
{
    free(table->items);
    table->items = NULL;
    table->length = 0;
    table->capacity = 0;
}

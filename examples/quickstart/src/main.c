/* wordfreq: prints the most frequent words of standard input, "COUNT WORD" per line. */
#include "wordfreq.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long top = 10;
    if (argc > 2 || (argc == 2 && (top = strtol(argv[1], NULL, 10)) <= 0)) {
        fprintf(stderr, "usage: wordfreq [N]   (the N most frequent words of stdin, default 10)\n");
        return 2;
    }
    struct word_table table = {0};
    char word[MAX_WORD];
    size_t length = 0;
    int c;
    do {
        c = getchar();
        if (c != EOF && (isalnum(c) || c == '\'')) {
            if (length < MAX_WORD - 1)
                word[length++] = (char)tolower(c);
            continue;
        }
        if (length > 0) {
            word[length] = '\0';
            length = 0;
            if (table_add(&table, word) != 0) {
                fprintf(stderr, "wordfreq: out of memory\n");
                table_free(&table);
                return 1;
            }
        }
    } while (c != EOF);
    table_sort(&table);
    for (size_t i = 0; i < table.length && i < (size_t)top; i++)
        printf("%zu %s\n", table.items[i].count, table.items[i].word);
    table_free(&table);
    return 0;
}

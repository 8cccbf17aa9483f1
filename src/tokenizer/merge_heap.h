/* merge_heap.h: the priority queue of candidate merges that both BPE
 * tokenizers use (spm.c: highest score first; bpe.c: lowest merge rank
 * first, as prio = -rank). Ties go to the leftmost pair. Entries are never
 * removed when a side changes; the caller skips stale ones (size check). */
#ifndef TK_TOKENIZER_MERGE_HEAP_H
#define TK_TOKENIZER_MERGE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tk_merge {
    double prio;         /* higher first (exact for float scores and int ranks) */
    int32_t left, right; /* the symbols                                          */
    uint32_t size;       /* n(left) + n(right) when queued                       */
} tk_merge;

typedef struct tk_merge_heap {
    tk_merge *a;
    size_t n, cap;
} tk_merge_heap;

/* 0, or -1 when out of memory (the heap is unchanged). */
int tk_merge_heap_push(tk_merge_heap *h, tk_merge m);
/* The best entry; h->n must be > 0. */
tk_merge tk_merge_heap_pop(tk_merge_heap *h);

#endif

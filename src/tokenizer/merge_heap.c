/* merge_heap.c: a binary max-heap of merges (see merge_heap.h). */
#include "merge_heap.h"

#include <stdlib.h>

static int better(const tk_merge *a, const tk_merge *b) {
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

int tk_merge_heap_push(tk_merge_heap *h, tk_merge m) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 256;
        tk_merge *a = realloc(h->a, nc * sizeof *a);
        if (!a) return -1;
        h->a = a, h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(&m, &h->a[p])) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = m;
    return 0;
}

tk_merge tk_merge_heap_pop(tk_merge_heap *h) {
    tk_merge top = h->a[0], last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && better(&h->a[c + 1], &h->a[c])) c++;
        if (!better(&h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n) h->a[i] = last;
    return top;
}

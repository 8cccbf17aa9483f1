/* mapfile.h: read-only file mapping.
 *
 * open(O_RDONLY) + mmap(PROT_READ, MAP_PRIVATE): tensors point into the map,
 * nothing is copied. An empty file maps to data == NULL, size == 0. */
#ifndef TK_BASE_MAPFILE_H
#define TK_BASE_MAPFILE_H

#include <stddef.h>
#include "tick.h"

typedef struct tk_map {
    const unsigned char *data;
    size_t size;
} tk_map;

int  tk_map_open(tk_map *m, const char *path, tk_error *e);
void tk_map_close(tk_map *m);

/* Read a whole (small) file into a malloc'd NUL-terminated buffer. */
int tk_read_file(const char *path, char **out, size_t *len, size_t max_len, tk_error *e);

#endif

#include "mapfile.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int tk_map_open(tk_map *m, const char *path, tk_error *e) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tk_err(e, TK_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return tk_err(e, TK_EIO, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tk_err(e, TK_EIO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return TK_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) return tk_err(e, TK_EIO, "%s: cannot map: %s", path, strerror(err));
    m->data = p;
    m->size = (size_t)st.st_size;
    return TK_OK;
}

void tk_map_close(tk_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

int tk_read_file(const char *path, char **out, size_t *len, size_t max_len, tk_error *e) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return tk_err(e, TK_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { fclose(f); return tk_err(e, TK_ENOMEM, "%s: out of memory", path); }
    for (;;) {
        if (n == cap) {
            if (cap >= max_len) { free(buf); fclose(f); return tk_err(e, TK_EINVAL, "%s: file larger than %zu bytes", path, max_len); }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) { free(buf); fclose(f); return tk_err(e, TK_ENOMEM, "%s: out of memory", path); }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return tk_err(e, TK_EIO, "%s: read error", path); }
    if (n > max_len) { free(buf); return tk_err(e, TK_EINVAL, "%s: file larger than %zu bytes", path, max_len); }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return TK_OK;
}

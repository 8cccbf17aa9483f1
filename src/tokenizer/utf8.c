/* utf8.c: UTF-8 validation and a streaming splitter that never emits half a
 * character.
 *
 * Well-formed UTF-8 (Unicode 15, table 3-7):
 *   00..7F
 *   C2..DF 80..BF
 *   E0     A0..BF 80..BF      (E0 80..9F would be overlong)
 *   E1..EC 80..BF 80..BF
 *   ED     80..9F 80..BF      (ED A0..BF would be a surrogate)
 *   EE..EF 80..BF 80..BF
 *   F0     90..BF 80..BF 80..BF   (F0 80..8F overlong)
 *   F1..F3 80..BF 80..BF 80..BF
 *   F4     80..8F 80..BF 80..BF   (F4 90.. is above U+10FFFF)
 * C0, C1, F5..FF never appear; 80..BF never start a character. */
#include "vocab.h"

/* Length of the sequence lead byte c starts (0: not a valid lead). */
static int seq_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* Is c allowed as byte number k (1..3) of a sequence that starts with lead? */
static int cont_ok(unsigned char lead, int k, unsigned char c) {
    if (k == 1) {
        switch (lead) {
        case 0xE0: return c >= 0xA0 && c <= 0xBF;
        case 0xED: return c >= 0x80 && c <= 0x9F;
        case 0xF0: return c >= 0x90 && c <= 0xBF;
        case 0xF4: return c >= 0x80 && c <= 0x8F;
        default: break;
        }
    }
    return c >= 0x80 && c <= 0xBF;
}

/* bad_at is the offset where the first ill-formed sequence starts (its lead
 * byte, or a stray continuation byte), also for a sequence cut off by the
 * end of the input. */
int tk_utf8_valid(const char *s, size_t n, size_t *bad_at) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        int l = seq_len(p[i]);
        int ok = l > 0 && (size_t)l <= n - i;
        for (int k = 1; ok && k < l; k++) ok = cont_ok(p[i], k, p[i + k]);
        if (!ok) {
            if (bad_at) *bad_at = i;
            return 0;
        }
        i += (size_t)l;
    }
    return 1;
}

/* Byte by byte: a valid lead opens a pending sequence; each allowed
 * continuation extends it and a complete sequence is written out. A byte
 * that cannot continue the pending sequence first flushes the pending bytes
 * as they are (they can no longer form a character, but nothing is lost)
 * and is then looked at afresh. Bytes that cannot start a character are
 * passed through. At most 3 bytes stay pending, so out needs n + 3. */
int tk_utf8_stream_push(tk_utf8_stream *s, const char *in, int n, char *out) {
    int o = 0;
    if (s->n_pend < 0 || s->n_pend > 3) s->n_pend = 0;
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (s->n_pend > 0) {
            int need = seq_len(s->pend[0]);
            if (cont_ok(s->pend[0], s->n_pend, c)) {
                s->pend[s->n_pend++] = c;
                if (s->n_pend == need) {
                    for (int k = 0; k < need; k++) out[o++] = (char)s->pend[k];
                    s->n_pend = 0;
                }
                continue;
            }
            for (int k = 0; k < s->n_pend; k++) out[o++] = (char)s->pend[k];
            s->n_pend = 0;
        }
        int l = seq_len(c);
        if (l >= 2) s->pend[0] = c, s->n_pend = 1;
        else out[o++] = (char)c; /* ASCII, or a byte that starts nothing */
    }
    return o;
}

int tk_utf8_stream_flush(tk_utf8_stream *s, char *out) {
    int o = 0;
    if (s->n_pend < 0 || s->n_pend > 3) s->n_pend = 0;
    for (int k = 0; k < s->n_pend; k++) out[o++] = (char)s->pend[k];
    s->n_pend = 0;
    return o;
}

/* fuzz_template.c: libFuzzer entry point for the chat-template interpreter.
 *
 *   make fuzz && build-fuzz/fuzz_template -max_len=4096 -dict=fuzz/template.dict CORPUS
 *
 * The input is the template source (its first byte also picks
 * add_generation_prompt); the messages are fixed. Limits are small so a
 * slow template is cut off quickly. Checked: a render either returns a
 * NUL-terminated output of the returned length within the output limit, or
 * a negative status with a one-line message and no output. Seeds: the
 * templates of tests/test_template.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/template.h"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

static const tk_chat_msg MSGS[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "  Hi there  "},
    {"user", "Who are you"},
    {"tool", "{\"x\": 1}"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tk_tmpl_vars v = {MSGS, 5, size && (data[0] & 1), "<s>", "</s>"};
    tk_tmpl_limits lim = {.max_steps = 100000, .max_out = 1 << 16, .max_mem = 4 << 20};
    tk_error e = {0};
    char *out = (char *)1;
    int r = tk_tmpl_render((const char *)data, size, &v, &lim, &out, &e);
    if (r < 0) {
        CHECK(out == NULL && e.code == r && e.msg[0] && !strchr(e.msg, '\n'));
        CHECK(strncmp(e.msg, "template line ", 14) == 0);
        return 0;
    }
    CHECK(out && strlen(out) <= (size_t)r && (size_t)r <= lim.max_out && out[r] == 0);
    free(out);
    return 0;
}

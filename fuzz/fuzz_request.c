/* fuzz_request.c: libFuzzer entry point for the request validation of
 * `tick serve` (apps/serve_req.c).
 *
 *   make fuzz && build-fuzz/fuzz_request -max_len=4096 -dict=fuzz/request.dict fuzz/corpus/request
 *
 * The first byte picks the endpoint (completions or chat), the rest is
 * the body. An accepted request must hold only what validation promises:
 * fields in their ranges, valid UTF-8 strings, at most 4 stop strings,
 * in-vocabulary ids; a rejected one a one-line reason (a violation traps,
 * so libFuzzer saves the input). */
#include "../apps/serve_req.c"

#define CHECK(x) ((x) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int kind = data[0] & 1 ? SRV_CHAT : SRV_COMPLETION;
    srv_limits lim = {.max_tokens = 512, .n_vocab = 1000, .max_prompt = 256};
    srv_params p;
    char err[256];
    if (srv_parse_request((const char *)data + 1, size - 1, kind, &lim, &p, err, sizeof err)) {
        CHECK(err[0] && !strchr(err, '\n') && strlen(err) < sizeof err);
        CHECK(p.prompt == NULL && p.msgs == NULL && p.n_stop == 0);
        return 0;
    }
    CHECK(p.kind == kind);
    CHECK(p.max_tokens >= 1 && p.max_tokens <= lim.max_tokens);
    CHECK(p.temperature >= 0 && p.temperature <= 2 && p.top_p >= 0 && p.top_p <= 1 && p.min_p >= 0 && p.min_p <= 1);
    CHECK(p.top_k >= 0 && p.presence_penalty >= -2 && p.presence_penalty <= 2);
    CHECK(p.frequency_penalty >= -2 && p.frequency_penalty <= 2);
    CHECK(p.top_logprobs >= 0 && p.top_logprobs <= SRV_MAX_TOP_LOGPROBS);
    CHECK(p.n_stop >= 0 && p.n_stop <= SRV_MAX_STOP);
    for (int i = 0; i < p.n_stop; i++)
        CHECK(strlen(p.stop[i]) >= 1 && strlen(p.stop[i]) <= SRV_MAX_STOP_LEN && srv_utf8_ok(p.stop[i], strlen(p.stop[i])));
    if (kind == SRV_CHAT) {
        CHECK(p.n_msgs >= 1 && p.msgs);
        for (int i = 0; i < p.n_msgs; i++) {
            CHECK(srv_utf8_ok(p.msgs[i].content, strlen(p.msgs[i].content)));
            CHECK(!strcmp(p.msgs[i].role, "system") || !strcmp(p.msgs[i].role, "user") || !strcmp(p.msgs[i].role, "assistant") || !strcmp(p.msgs[i].role, "tool"));
        }
    } else {
        CHECK((p.prompt != NULL) != (p.ids != NULL));
        if (p.prompt) CHECK(srv_utf8_ok(p.prompt, strlen(p.prompt)));
        for (int i = 0; i < p.n_ids; i++) CHECK(p.ids[i] >= 0 && p.ids[i] < lim.n_vocab);
        CHECK(p.n_ids <= lim.max_prompt);
    }
    srv_params_free(&p);
    return 0;
}

/* test_template.c: the chat-template interpreter (src/chat/template.c) on
 * the real templates of the common model families, each rendered for one
 * conversation and compared with the prompt format its model card
 * documents (the expected strings are written by hand from those
 * formats); then the Jinja features one by one, and hostile templates:
 * syntax errors with their position, raise_exception, loops that run too
 * long, output that explodes, nesting too deep. */
#include "t.h"
#include "chat/template.h"

#include <stdlib.h>
#include <string.h>

/* ---- the real templates (tokenizer_config.json chat_template, decoded) ----- */

/* teknium/OpenHermes-2.5-Mistral-7B and other ChatML models */
static const char CHATML[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/* Qwen/Qwen2.5-*-Instruct */
static const char QWEN25[] =
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n"
    "            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n";

/* meta-llama/Meta-Llama-3-8B-Instruct */
static const char LLAMA3[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

/* meta-llama/Meta-Llama-3.1-8B-Instruct */
static const char LLAMA31[] =
    "{{- bos_token }}\n"
    "{%- if custom_tools is defined %}\n"
    "    {%- set tools = custom_tools %}\n"
    "{%- endif %}\n"
    "{%- if not tools_in_user_message is defined %}\n"
    "    {%- set tools_in_user_message = true %}\n"
    "{%- endif %}\n"
    "{%- if not date_string is defined %}\n"
    "    {%- set date_string = \"26 Jul 2024\" %}\n"
    "{%- endif %}\n"
    "{%- if not tools is defined %}\n"
    "    {%- set tools = none %}\n"
    "{%- endif %}\n"
    "\n"
    "{#- This block extracts the system message, so we can slot it into the right place. #}\n"
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n"
    "{%- else %}\n"
    "    {%- set system_message = \"\" %}\n"
    "{%- endif %}\n"
    "\n"
    "{#- System message + builtin tools #}\n"
    "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
    "{%- if builtin_tools is defined or tools is not none %}\n"
    "    {{- \"Environment: ipython\\n\" }}\n"
    "{%- endif %}\n"
    "{%- if builtin_tools is defined %}\n"
    "    {{- \"Tools: \" + builtin_tools | reject('equalto', 'code_interpreter') | join(\", \") + \"\\n\\n\"}}\n"
    "{%- endif %}\n"
    "{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
    "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
    "{%- if tools is not none and not tools_in_user_message %}\n"
    "    {{- \"You have access to the following functions. To call a function, please respond with JSON for a function call.\" }}\n"
    "    {{- 'Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.' }}\n"
    "    {{- \"Do not use variables.\\n\\n\" }}\n"
    "    {%- for t in tools %}\n"
    "        {{- t | tojson(indent=4) }}\n"
    "        {{- \"\\n\\n\" }}\n"
    "    {%- endfor %}\n"
    "{%- endif %}\n"
    "{{- system_message }}\n"
    "{{- \"<|eot_id|>\" }}\n"
    "\n"
    "{#- Custom tools are passed in a user message with some extra guidance #}\n"
    "{%- if tools_in_user_message and not tools is none %}\n"
    "    {#- Extract the first user message so we can plug it in here #}\n"
    "    {%- if messages | length != 0 %}\n"
    "        {%- set first_user_message = messages[0]['content']|trim %}\n"
    "        {%- set messages = messages[1:] %}\n"
    "    {%- else %}\n"
    "        {{- raise_exception(\"Cannot put tools in the first user message when there's no first user message!\") }}\n"
    "{%- endif %}\n"
    "    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}\n"
    "    {{- \"Given the following functions, please respond with a JSON for a function call \" }}\n"
    "    {{- \"with its proper arguments that best answers the given prompt.\\n\\n\" }}\n"
    "    {{- 'Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.' }}\n"
    "    {{- \"Do not use variables.\\n\\n\" }}\n"
    "    {%- for t in tools %}\n"
    "        {{- t | tojson(indent=4) }}\n"
    "        {{- \"\\n\\n\" }}\n"
    "    {%- endfor %}\n"
    "    {{- first_user_message + \"<|eot_id|>\"}}\n"
    "{%- endif %}\n"
    "\n"
    "{%- for message in messages %}\n"
    "    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}\n"
    "        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n"
    "    {%- elif 'tool_calls' in message %}\n"
    "        {%- if not message.tool_calls|length == 1 %}\n"
    "            {{- raise_exception(\"This model only supports single tool-calls at once!\") }}\n"
    "        {%- endif %}\n"
    "        {%- set tool_call = message.tool_calls[0].function %}\n"
    "        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}\n"
    "            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
    "            {{- \"<|python_tag|>\" + tool_call.name + \".call(\" }}\n"
    "            {%- for arg_name, arg_val in tool_call.arguments | items %}\n"
    "                {{- arg_name + '=\"' + arg_val + '\"' }}\n"
    "                {%- if not loop.last %}\n"
    "                    {{- \", \" }}\n"
    "                {%- endif %}\n"
    "                {%- endfor %}\n"
    "            {{- \")\" }}\n"
    "        {%- else  %}\n"
    "            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
    "            {{- '{\"name\": \"' + tool_call.name + '\", ' }}\n"
    "            {{- '\"parameters\": ' }}\n"
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- \"}\" }}\n"
    "        {%- endif %}\n"
    "        {%- if builtin_tools is defined %}\n"
    "            {#- This means we're in ipython mode #}\n"
    "            {{- \"<|eom_id|>\" }}\n"
    "        {%- else %}\n"
    "            {{- \"<|eot_id|>\" }}\n"
    "        {%- endif %}\n"
    "    {%- elif message.role == \"tool\" or message.role == \"ipython\" %}\n"
    "        {{- \"<|start_header_id|>ipython<|end_header_id|>\\n\\n\" }}\n"
    "        {%- if message.content is mapping or message.content is iterable %}\n"
    "            {{- message.content | tojson }}\n"
    "        {%- else %}\n"
    "            {{- message.content }}\n"
    "        {%- endif %}\n"
    "        {{- \"<|eot_id|>\" }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
    "{%- endif %}\n";

/* meta-llama/Llama-2-7b-chat-hf */
static const char LLAMA2[] =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = "
    "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}"
    "{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif "
    "message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

/* mistralai/Mistral-7B-Instruct-v0.1 (and v0.2, Mixtral-8x7B-Instruct-v0.1) */
static const char MISTRAL1[] =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
    "message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}";

/* mistralai/Mistral-7B-Instruct-v0.3 */
static const char MISTRAL3[] =
    "{%- if messages[0][\"role\"] == \"system\" %}\n"
    "    {%- set system_message = messages[0][\"content\"] %}\n"
    "    {%- set loop_messages = messages[1:] %}\n"
    "{%- else %}\n"
    "    {%- set loop_messages = messages %}\n"
    "{%- endif %}\n"
    "{%- if not tools is defined %}\n"
    "    {%- set tools = none %}\n"
    "{%- endif %}\n"
    "{%- set user_messages = loop_messages | selectattr(\"role\", \"equalto\", \"user\") | list %}\n"
    "\n"
    "{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}\n"
    "{%- set ns = namespace() %}\n"
    "{%- set ns.index = 0 %}\n"
    "{%- for message in loop_messages %}\n"
    "    {%- if not (message.role == \"tool\" or message.role == \"tool_results\" or (message.tool_calls is defined and message.tool_calls is not none)) %}\n"
    "        {%- if (message[\"role\"] == \"user\") != (ns.index % 2 == 0) %}\n"
    "            {{- raise_exception(\"After the optional system message, conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "        {%- endif %}\n"
    "        {%- set ns.index = ns.index + 1 %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "\n"
    "{{- bos_token }}\n"
    "{%- for message in loop_messages %}\n"
    "    {%- if message[\"role\"] == \"user\" %}\n"
    "        {%- if tools is not none and (message == user_messages[-1]) %}\n"
    "            {{- \"[AVAILABLE_TOOLS] [\" }}\n"
    "            {%- for tool in tools %}\n"
    "                {%- set tool = tool.function %}\n"
    "                {{- '{\"type\": \"function\", \"function\": {' }}\n"
    "                {%- for key, val in tool.items() if key != \"return\" %}\n"
    "                    {%- if val is string %}\n"
    "                        {{- '\"' + key + '\": \"' + val + '\"' }}\n"
    "                    {%- else %}\n"
    "                        {{- '\"' + key + '\": ' + val|tojson }}\n"
    "                    {%- endif %}\n"
    "                    {%- if not loop.last %}\n"
    "                        {{- \", \" }}\n"
    "                    {%- endif %}\n"
    "                {%- endfor %}\n"
    "                {{- \"}}\" }}\n"
    "                {%- if not loop.last %}\n"
    "                    {{- \", \" }}\n"
    "                {%- else %}\n"
    "                    {{- \"]\" }}\n"
    "                {%- endif %}\n"
    "            {%- endfor %}\n"
    "            {{- \"[/AVAILABLE_TOOLS]\" }}\n"
    "            {%- endif %}\n"
    "        {%- if (message == user_messages[-1]) and system_message is defined %}\n"
    "            {{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}\n"
    "        {%- else %}\n"
    "            {{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}\n"
    "        {%- endif %}\n"
    "    {%- elif message.tool_calls is defined and message.tool_calls is not none %}\n"
    "        {{- \"[TOOL_CALLS] [\" }}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- set out = tool_call.function|tojson %}\n"
    "            {{- out[:-1] }}\n"
    "            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}\n"
    "                {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n"
    "            {%- endif %}\n"
    "            {{- ', \"id\": \"' + tool_call.id + '\"}' }}\n"
    "            {%- if not loop.last %}\n"
    "                {{- \", \" }}\n"
    "            {%- else %}\n"
    "                {{- \"]\" + eos_token }}\n"
    "            {%- endif %}\n"
    "        {%- endfor %}\n"
    "    {%- elif message[\"role\"] == \"assistant\" %}\n"
    "        {{- \" \" + message[\"content\"]|trim + eos_token}}\n"
    "    {%- elif message[\"role\"] == \"tool_results\" or message[\"role\"] == \"tool\" %}\n"
    "        {%- if message.content is defined and message.content.content is defined %}\n"
    "            {%- set content = message.content.content %}\n"
    "        {%- else %}\n"
    "            {%- set content = message.content %}\n"
    "        {%- endif %}\n"
    "        {{- '[TOOL_RESULTS] {\"content\": ' + content|string + \", \" }}\n"
    "        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}\n"
    "            {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n"
    "        {%- endif %}\n"
    "        {{- '\"call_id\": \"' + message.tool_call_id + '\"}[/TOOL_RESULTS]' }}\n"
    "    {%- else %}\n"
    "        {{- raise_exception(\"Only user and assistant roles are supported, with the exception of an initial optional system message!\") }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n";

/* microsoft/Phi-3-mini-4k-instruct (after its July 2024 update) */
static const char PHI3[] =
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == "
    "'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if "
    "add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/* HuggingFaceH4/zephyr-7b-beta (also TinyLlama-1.1B-Chat) */
static const char ZEPHYR[] =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] "
    "== 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and "
    "add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

/* google/gemma-7b-it, google/gemma-2-2b-it */
static const char GEMMA[] =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception("
    "'Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == "
    "'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + "
    "role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{'<start_of_turn>model\n'}}{% endif %}";

/* deepseek-ai/deepseek-coder-33b-instruct (namespace(), whitespace control) */
static const char DEEPSEEK_CODER[] =
    "{% if not add_generation_prompt is defined %}\n{% set add_generation_prompt = false %}\n{% endif %}\n"
    "{%- set ns = namespace(found=false) -%}\n{%- for message in messages -%}\n    {%- if message['role'] == 'system' -%}\n"
    "        {%- set ns.found = true -%}\n    {%- endif -%}\n{%- endfor -%}\n{{bos_token}}{%- if not ns.found -%}\n"
    "{{'You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you "
    "only answer questions related to computer science. For politically sensitive questions, security and privacy issues, "
    "and other non-computer science questions, you will refuse to answer\\n'}}\n{%- endif %}\n{%- for message in messages %}\n"
    "    {%- if message['role'] == 'system' %}\n{{ message['content'] }}\n    {%- else %}\n        {%- if message['role'] == "
    "'user' %}\n{{'### Instruction:\\n' + message['content'] + '\\n'}}\n        {%- else %}\n{{'### Response:\\n' + "
    "message['content'] + '\\n<|EOT|>\\n'}}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{% if "
    "add_generation_prompt %}\n{{'### Response:'}}\n{% endif %}";

/* ---- helpers ---------------------------------------------------------------------- */

static const tk_chat_msg CONV[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
};
#define NCONV 4

/* render; on failure returns NULL and leaves the message in err */
static char *render_l(const char *tmpl, const tk_chat_msg *m, int n, int add_gen, const char *bos, const char *eos,
                      const tk_tmpl_limits *lim, tk_error *err) {
    tk_tmpl_vars v = {m, n, add_gen, bos, eos};
    char *out;
    int r = tk_tmpl_render(tmpl, strlen(tmpl), &v, lim, &out, err);
    if (r < 0) return NULL;
    if ((size_t)r != strlen(out)) {
        free(out);
        snprintf(err->msg, sizeof err->msg, "length %d but strlen %zu", r, strlen(out));
        return NULL;
    }
    return out;
}
static char *render(const char *tmpl, const tk_chat_msg *m, int n, int add_gen, const char *bos, const char *eos, tk_error *err) {
    return render_l(tmpl, m, n, add_gen, bos, eos, NULL, err);
}

#define EXPECT(tmpl, msgs, n, gen, bos, eos, want)                                                  \
    do {                                                                                            \
        tk_error e_ = {0};                                                                          \
        char *got_ = render(tmpl, msgs, n, gen, bos, eos, &e_);                                     \
        T_CHECK(got_ && strcmp(got_, want) == 0, "%s gen=%d:\n--- got\n%s\n--- want\n%s\n(error: %s)", \
                #tmpl, gen, got_ ? got_ : "(null)", want, e_.msg);                                  \
        free(got_);                                                                                 \
    } while (0)

/* the render fails with code and a message containing part */
#define EXPECT_ERR(tmpl, msgs, n, want_code, part)                                                       \
    do {                                                                                            \
        tk_error e_ = {0};                                                                          \
        char *got_ = render(tmpl, msgs, n, 1, "<s>", "</s>", &e_);                                  \
        T_CHECK(!got_ && e_.code == (want_code) && strstr(e_.msg, part) && !strchr(e_.msg, '\n'),       \
                "%s: want error %d containing '%s', got code %d '%s' output '%s'", #tmpl, want_code, part, \
                e_.code, e_.msg, got_ ? got_ : "(null)");                                           \
        free(got_);                                                                                 \
    } while (0)

/* ---- the families ---------------------------------------------------------------- */

static void test_chatml(void) {
    const char *body = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                       "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n";
    char want[1024];
    EXPECT(CHATML, CONV, NCONV, 0, "", "<|im_end|>", body);
    snprintf(want, sizeof want, "%s<|im_start|>assistant\n", body);
    EXPECT(CHATML, CONV, NCONV, 1, "", "<|im_end|>", want);
}

static void test_qwen25(void) {
    const char *body = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                       "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n";
    char want[1024];
    EXPECT(QWEN25, CONV, NCONV, 0, "", "<|im_end|>", body);
    snprintf(want, sizeof want, "%s<|im_start|>assistant\n", body);
    EXPECT(QWEN25, CONV, NCONV, 1, "", "<|im_end|>", want);
    /* without a system message: the model card's default one */
    EXPECT(QWEN25, CONV + 1, 1, 1, "", "<|im_end|>",
           "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
           "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    /* a tool result goes into a user turn */
    tk_chat_msg tool[] = {{"user", "Weather?"}, {"tool", "{\"temp\": 20}"}};
    EXPECT(QWEN25, tool, 2, 1, "", "<|im_end|>",
           "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
           "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 20}\n</tool_response><|im_end|>\n"
           "<|im_start|>assistant\n");
}

static void test_llama3(void) {
    const char *body = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>";
    char want[1024];
    EXPECT(LLAMA3, CONV, NCONV, 0, "<|begin_of_text|>", "<|eot_id|>", body);
    snprintf(want, sizeof want, "%s<|start_header_id|>assistant<|end_header_id|>\n\n", body);
    EXPECT(LLAMA3, CONV, NCONV, 1, "<|begin_of_text|>", "<|eot_id|>", want);
}

static void test_llama31(void) {
    /* the model card: a system header with the knowledge cut-off and the
     * date, then the system prompt */
    const char *body = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                       "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                       "You are a helpful assistant<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>";
    char want[1024];
    EXPECT(LLAMA31, CONV, NCONV, 0, "<|begin_of_text|>", "<|eot_id|>", body);
    snprintf(want, sizeof want, "%s<|start_header_id|>assistant<|end_header_id|>\n\n", body);
    EXPECT(LLAMA31, CONV, NCONV, 1, "<|begin_of_text|>", "<|eot_id|>", want);
    /* no system message: the header stays, with an empty prompt */
    EXPECT(LLAMA31, CONV + 1, 1, 1, "<|begin_of_text|>", "<|eot_id|>",
           "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
           "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void test_llama2(void) {
    /* <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s> ...;
     * the template has no generation prompt: the same text either way */
    const char *want = "<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s>"
                       "<s>[INST] Who are you [/INST]";
    EXPECT(LLAMA2, CONV, NCONV, 0, "<s>", "</s>", want);
    EXPECT(LLAMA2, CONV, NCONV, 1, "<s>", "</s>", want);
    tk_chat_msg two_users[] = {{"user", "a"}, {"user", "b"}};
    EXPECT_ERR(LLAMA2, two_users, 2, TK_EINVAL, "raise_exception: Conversation roles must alternate");
}

static void test_mistral(void) {
    /* v0.1: no system role; <s>[INST] {user} [/INST]{answer}</s>[INST] ... */
    const char *want1 = "<s>[INST] Hello [/INST]Hi there</s>[INST] Who are you [/INST]";
    EXPECT(MISTRAL1, CONV + 1, 3, 0, "<s>", "</s>", want1);
    EXPECT(MISTRAL1, CONV + 1, 3, 1, "<s>", "</s>", want1);
    EXPECT_ERR(MISTRAL1, CONV, NCONV, TK_EINVAL, "raise_exception: Conversation roles must alternate");
    /* v0.3: the system prompt goes into the last user message */
    const char *want3 = "<s>[INST] Hello[/INST] Hi there</s>[INST] You are a helpful assistant\n\nWho are you[/INST]";
    EXPECT(MISTRAL3, CONV, NCONV, 0, "<s>", "</s>", want3);
    EXPECT(MISTRAL3, CONV, NCONV, 1, "<s>", "</s>", want3);
    EXPECT(MISTRAL3, CONV + 1, 3, 1, "<s>", "</s>", "<s>[INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST]");
    tk_chat_msg bad[] = {{"user", "a"}, {"user", "b"}};
    EXPECT_ERR(MISTRAL3, bad, 2, TK_EINVAL, "conversation roles must alternate");
}

static void test_phi3(void) {
    const char *body = "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n"
                       "<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n";
    char want[1024];
    snprintf(want, sizeof want, "%s<|endoftext|>", body);
    EXPECT(PHI3, CONV, NCONV, 0, "<s>", "<|endoftext|>", want);
    snprintf(want, sizeof want, "%s<|assistant|>\n", body);
    EXPECT(PHI3, CONV, NCONV, 1, "<s>", "<|endoftext|>", want);
}

static void test_zephyr(void) {
    const char *body = "<|system|>\nYou are a helpful assistant</s>\n<|user|>\nHello</s>\n"
                       "<|assistant|>\nHi there</s>\n<|user|>\nWho are you</s>\n";
    char want[1024];
    EXPECT(ZEPHYR, CONV, NCONV, 0, "<s>", "</s>", body);
    snprintf(want, sizeof want, "%s<|assistant|>\n", body);
    EXPECT(ZEPHYR, CONV, NCONV, 1, "<s>", "</s>", want);
}

static void test_gemma(void) {
    const char *body = "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n"
                       "<start_of_turn>user\nWho are you<end_of_turn>\n";
    char want[1024];
    EXPECT(GEMMA, CONV + 1, 3, 0, "<bos>", "<eos>", body);
    snprintf(want, sizeof want, "%s<start_of_turn>model\n", body);
    EXPECT(GEMMA, CONV + 1, 3, 1, "<bos>", "<eos>", want);
    /* Gemma has no system role: its template raises */
    EXPECT_ERR(GEMMA, CONV, NCONV, TK_EINVAL, "raise_exception: System role not supported");
}

static void test_deepseek_coder(void) {
    EXPECT(DEEPSEEK_CODER, CONV, NCONV, 1, "<s>", "<|EOT|>",
           "<s>You are a helpful assistant### Instruction:\nHello\n### Response:\nHi there\n<|EOT|>\n"
           "### Instruction:\nWho are you\n### Response:\n");
    EXPECT(DEEPSEEK_CODER, CONV + 1, 1, 0, "", "<|EOT|>",
           "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you "
           "only answer questions related to computer science. For politically sensitive questions, security and privacy "
           "issues, and other non-computer science questions, you will refuse to answer\n### Instruction:\nHello\n");
}

int main(void) {
    T_RUN(test_chatml);
    T_RUN(test_qwen25);
    T_RUN(test_llama3);
    T_RUN(test_llama31);
    T_RUN(test_llama2);
    T_RUN(test_mistral);
    T_RUN(test_phi3);
    T_RUN(test_zephyr);
    T_RUN(test_gemma);
    T_RUN(test_deepseek_coder);
    return t_done();
}

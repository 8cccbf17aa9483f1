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

/* Qwen/Qwen3-* (thinking models: earlier turns lose their <think> part) */
static const char QWEN3[] =
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0].role == 'system' %}\n"
    "        {{- messages[0].content + '\\n\\n' }}\n"
    "    {%- endif %}\n"
    "    {{- \"# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n"
    "        {{- \"\\n\" }}\n"
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n"
    "    {%- if messages[0].role == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}\n"
    "{%- for message in messages[::-1] %}\n"
    "    {%- set index = (messages|length - 1) - loop.index0 %}\n"
    "    {%- if ns.multi_step_tool and message.role == \"user\" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}\n"
    "        {%- set ns.multi_step_tool = false %}\n"
    "        {%- set ns.last_query_index = index %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- for message in messages %}\n"
    "    {%- if message.content is string %}\n"
    "        {%- set content = message.content %}\n"
    "    {%- else %}\n"
    "        {%- set content = '' %}\n"
    "    {%- endif %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n"
    "        {%- set reasoning_content = '' %}\n"
    "        {%- if message.reasoning_content is string %}\n"
    "            {%- set reasoning_content = message.reasoning_content %}\n"
    "        {%- else %}\n"
    "            {%- if '</think>' in content %}\n"
    "                {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}\n"
    "                {%- set content = content.split('</think>')[-1].lstrip('\\n') %}\n"
    "            {%- endif %}\n"
    "        {%- endif %}\n"
    "        {%- if loop.index0 > ns.last_query_index %}\n"
    "            {%- if loop.last or (not loop.last and reasoning_content) %}\n"
    "                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}\n"
    "            {%- else %}\n"
    "                {{- '<|im_start|>' + message.role + '\\n' + content }}\n"
    "            {%- endif %}\n"
    "        {%- else %}\n"
    "            {{- '<|im_start|>' + message.role + '\\n' + content }}\n"
    "        {%- endif %}\n"
    "        {%- if message.tool_calls %}\n"
    "            {%- for tool_call in message.tool_calls %}\n"
    "                {%- if (loop.first and content) or (not loop.first) %}\n"
    "                    {{- '\\n' }}\n"
    "                {%- endif %}\n"
    "                {%- if tool_call.function %}\n"
    "                    {%- set tool_call = tool_call.function %}\n"
    "                {%- endif %}\n"
    "                {{- '<tool_call>\\n{\"name\": \"' }}\n"
    "                {{- tool_call.name }}\n"
    "                {{- '\", \"arguments\": ' }}\n"
    "                {%- if tool_call.arguments is string %}\n"
    "                    {{- tool_call.arguments }}\n"
    "                {%- else %}\n"
    "                    {{- tool_call.arguments | tojson }}\n"
    "                {%- endif %}\n"
    "                {{- '}\\n</tool_call>' }}\n"
    "            {%- endfor %}\n"
    "        {%- endif %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if loop.first or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "    {%- if enable_thinking is defined and enable_thinking is false %}\n"
    "        {{- '<think>\\n\\n</think>\\n\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}";

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

static void test_qwen3(void) {
    const char *body = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                       "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n";
    char want[1024];
    EXPECT(QWEN3, CONV, NCONV, 0, "", "<|im_end|>", body);
    snprintf(want, sizeof want, "%s<|im_start|>assistant\n", body);
    EXPECT(QWEN3, CONV, NCONV, 1, "", "<|im_end|>", want);
    /* an earlier reply's thinking is dropped from the history; the last
     * one, after the last question, keeps it */
    tk_chat_msg think[] = {{"user", "Hello"}, {"assistant", "<think>\nhmm\n</think>\n\nHi there"},
                           {"user", "Who are you"}, {"assistant", "<think>\nwho?\n</think>\n\nA model"}};
    EXPECT(QWEN3, think, 4, 0, "", "<|im_end|>",
           "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
           "<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n<think>\nwho?\n</think>\n\nA model<|im_end|>\n");
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

/* The template inside a real GGUF file (tokenizer.chat_template of the
 * Phi-3 vocabulary llama.cpp ships), through the public API. */
static void test_gguf_template(void) {
    const char *path = t_shared("models/vocab/ggml-vocab-phi-3.gguf", NULL);
    if (!path) T_SKIP("../shared/models/vocab/ggml-vocab-phi-3.gguf absent");
    tk_error e = {0};
    tk_load_opts lo = {.vocab_only = 1};
    tk_model *m = tk_model_load(path, &lo, &e);
    T_CHECK(m, "load: %s", e.msg);
    if (!m) return;
    const char *t = tk_model_chat_template(m);
    T_CHECK(t && strncmp(t, "{{ bos_token }}{% for message in messages %}", 44) == 0 && strlen(t) == 269,
            "template: %s", t ? t : "(null)");
    char *out = NULL;
    int n = tk_chat_render(m, NULL, CONV, NCONV, 1, &out, &e);
    /* this (older) Phi-3 template drops the system message and always opens
     * the assistant turn after a user message */
    const char *want = "<s><|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n";
    T_CHECK(n == (int)strlen(want) && out && strcmp(out, want) == 0, "got %d '%s' (%s)", n, out ? out : "(null)", e.msg);
    free(out);
    /* the API's own role check */
    tk_chat_msg bad[] = {{"user", "hi"}, {"robot", "beep"}};
    n = tk_chat_render(m, NULL, bad, 2, 1, &out, &e);
    T_CHECK(n == TK_EINVAL && !out && strstr(e.msg, "message 1 has role 'robot'"), "got %d: %s", n, e.msg);
    tk_model_free(m);
}

static void test_api(void) {
    tk_error e = {0};
    char *out = NULL;
    /* no model, no template */
    int n = tk_chat_render(NULL, NULL, CONV, NCONV, 1, &out, &e);
    T_CHECK(n == TK_EINVAL && !out && strstr(e.msg, "no chat template"), "got %d: %s", n, e.msg);
    /* a template given, no model: bos/eos are empty */
    n = tk_chat_render(NULL, LLAMA3, CONV + 1, 1, 1, &out, &e);
    T_CHECK(n > 0 && out && strcmp(out, "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                                        "<|start_header_id|>assistant<|end_header_id|>\n\n") == 0, "got '%s' (%s)", out ? out : "", e.msg);
    free(out);
    tk_chat_msg nul[] = {{NULL, "x"}};
    n = tk_chat_render(NULL, CHATML, nul, 1, 1, &out, &e);
    T_CHECK(n == TK_EINVAL && strstr(e.msg, "role '(null)'"), "got %d: %s", n, e.msg);
    tk_chat_msg tool[] = {{"tool", "42"}};
    n = tk_chat_render(NULL, CHATML, tool, 1, 0, &out, &e);
    T_CHECK(n > 0 && out && strcmp(out, "<|im_start|>tool\n42<|im_end|>\n") == 0, "got %d: %s", n, e.msg);
    free(out);
    n = tk_chat_render(NULL, CHATML, NULL, 0, 1, &out, &e);
    T_CHECK(n > 0 && out && strcmp(out, "<|im_start|>assistant\n") == 0, "empty conversation: %d %s", n, e.msg);
    free(out);
}

/* ---- the language, feature by feature ----------------------------------------------- */

#define JJ(tmpl, want) EXPECT(tmpl, CONV, NCONV, 1, "<s>", "</s>", want)

static void test_expressions(void) {
    JJ("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 2 - 5 }}", "7|9|3|-4|2|-3");
    JJ("{{ 'a' ~ 1 ~ none ~ true }}|{{ 'ab' + 'cd' }}|{{ 'x' 'y' }}", "a1NoneTrue|abcd|xy");
    JJ("{{ 1 == 1 and 2 != 3 }}|{{ not 1 < 2 }}|{{ 'b' > 'a' }}|{{ 3 >= 3 }}|{{ 2 <= 1 }}", "True|False|True|True|False");
    JJ("{{ 'ell' in 'hello' }}|{{ 2 in [1, 2] }}|{{ 'k' in {'k': 1} }}|{{ 'z' not in 'abc' }}", "True|True|True|True");
    JJ("{{ 'yes' if messages else 'no' }}|{{ 'a' if false }}|{{ none or 'dflt' }}|{{ 0 and 1 }}", "yes||dflt|0");
    JJ("{{ [1, 'a', [none]] }}|{{ {'k': true} }}|{{ [] }}", "[1, 'a', [None]]|{'k': True}|[]");
    JJ("{{ messages[0].role }}|{{ messages[-1]['content'] }}|{{ messages[9] is defined }}|{{ messages[1].nope is defined }}",
       "system|Who are you|False|False");
    JJ("{{ messages[1:3] | length }}|{{ 'abcdef'[1:4] }}|{{ 'abcdef'[::-1] }}|{{ 'abcdef'[-2:] }}|{{ [1,2,3,4][::2] }}",
       "2|bcd|fedcba|ef|[1, 3]");
}

static void test_statements(void) {
    JJ("{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}|{% endfor %}",
       "01TrueFalse44|12FalseFalse43|23FalseFalse42|34FalseTrue41|");
    JJ("{% for m in messages if m.role == 'user' %}{{ loop.index }}:{{ m.content }};{% endfor %}", "1:Hello;2:Who are you;");
    JJ("{% for x in [] %}no{% else %}empty{% endfor %}", "empty");
    JJ("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}", "a=1,b=2,");
    JJ("{% for c in 'ab' %}[{{ c }}]{% endfor %}{% for k in {'x': 1} %}{{ k }}{% endfor %}", "[a][b]x");
    JJ("{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}", "02");
    JJ("{% for i in range(2, 8, 3) %}{{ i }}{% endfor %}{% for i in range(3, 0, -1) %}{{ i }}{% endfor %}", "25321");
    JJ("{% if false %}a{% elif 0 %}b{% elif 'x' %}c{% else %}d{% endif %}", "c");
    /* scoping as Jinja: a set inside a loop does not leak, a namespace does */
    JJ("{% set x = 1 %}{% for m in messages %}{% set x = 2 %}{% endfor %}{{ x }}", "1");
    JJ("{% set ns = namespace(n=0, s='') %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set ns.s = ns.s ~ m.role[0] %}{% endfor %}{{ ns.n }}{{ ns.s }}",
       "4suau");
    JJ("{# a comment #}{{ add_generation_prompt }}{{ bos_token }}{{ eos_token }}", "True<s></s>");
    /* {% generation %} marks the assistant's part for training; rendering keeps its body */
    JJ("a{% generation %}b{{ 1 }}{% endgeneration %}c", "ab1c");
}

static void test_filters_methods(void) {
    JJ("{{ '  a b  ' | trim }}|{{ 'xxaxx'.strip('x') }}|{{ '  a '.lstrip() }}|{{ ' a  '.rstrip() }}|", "a b|a|a | a|");
    JJ("{{ 'Hello World' | upper }}|{{ 'Hello' | lower }}|{{ 'hello world' | title }}|{{ 'hello' | capitalize }}",
       "HELLO WORLD|hello|Hello World|Hello");
    JJ("{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith('lo') }}{{ 'Hello'.startswith('lo') }}", "TrueTrueFalse");
    JJ("{{ messages | length }}|{{ 'héllo' | length }}|{{ (messages | first).nope is defined }}", "4|5|False");
    JJ("{{ [1, 2, 3] | join(', ') }}|{{ ['a', 'b'] | last }}|{{ [1, 2] | reverse | list }}|{{ x | default('d') }}",
       "1, 2, 3|b|[2, 1]|d");
    JJ("{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|"
       "{{ (messages | selectattr('role', 'equalto', 'user') | list)[1].content }}|"
       "{{ messages | rejectattr('role', 'equalto', 'user') | list | length }}",
       "2|Who are you|2");
    JJ("{{ {'a': [1, 'x\"y'], 'b': none} | tojson }}", "{\"a\": [1, \"x\\\"y\"], \"b\": null}");
    JJ("{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'aXbX'.replace('X', '-') }}", "['a', 'b', '', 'c']|['a', 'b']|a-b-");
    JJ("{{ messages[0].get('role') }}|{{ messages[0].get('x', 'dflt') }}|{{ messages[0].keys() }}", "system|dflt|['role', 'content']");
    JJ("{{ 3 is odd }}{{ 3 is even }}{{ none is none }}{{ 'x' is string }}{{ 1 is number }}{{ x is undefined }}{{ 1 is not none }}",
       "TrueFalseTrueTrueTrueTrueTrue");
}

static void test_whitespace(void) {
    /* Hugging Face renders with trim_blocks and lstrip_blocks */
    JJ("  {% if true %}\n  x\n  {% endif %}\nend", "  x\nend");
    JJ("a  {%- if true -%}  b  {%- endif -%}  c", "abc");
    JJ("a\n  {{- 'b' -}}\n  c{#- note -#}  d", "abcd");
    JJ("a {# c #}\nb", "a b");
    JJ("  {%+ if true %}x{% endif %}", "  x");
    JJ("{% if true %}\r\nx{% endif %}", "x");
}

/* ---- hostile templates --------------------------------------------------------------- */

static void test_errors(void) {
    EXPECT_ERR("{% if x %}abc", CONV, NCONV, TK_EFORMAT, "line 1 col 14: unexpected end of template: a block is not closed (expected {% endif %})");
    EXPECT_ERR("line\n{{ 'a' + }}", CONV, NCONV, TK_EFORMAT, "template line 2 col 10: expected an expression");
    EXPECT_ERR("{{ 'abc }}", CONV, NCONV, TK_EFORMAT, "unterminated string literal");
    EXPECT_ERR("{% endfor %}", CONV, NCONV, TK_EFORMAT, "unexpected {% endfor %}");
    EXPECT_ERR("{% for x in y %}{% endif %}", CONV, NCONV, TK_EFORMAT, "unexpected {% endif %}");
    EXPECT_ERR("{{ 1 $ 2 }}", CONV, NCONV, TK_EFORMAT, "unexpected character '$'");
    EXPECT_ERR("{# never closed", CONV, NCONV, TK_EFORMAT, "unterminated comment");
    EXPECT_ERR("{% macro m() %}{% endmacro %}", CONV, NCONV, TK_EUNSUPPORTED, "{% macro %} is not supported");
    EXPECT_ERR("{% generation %}x", CONV, NCONV, TK_EFORMAT, "expected {% endgeneration %}");
    EXPECT_ERR("{{ 1.5 }}", CONV, NCONV, TK_EUNSUPPORTED, "only integer number literals");
    EXPECT_ERR("{{ x | nosuchfilter }}", CONV, NCONV, TK_EUNSUPPORTED, "unknown filter 'nosuchfilter'");
    EXPECT_ERR("{{ nosuchfn() }}", CONV, NCONV, TK_EUNSUPPORTED, "unknown function 'nosuchfn'");
    EXPECT_ERR("{{ raise_exception('Bad role: ' + messages[0].role) }}", CONV, NCONV, TK_EINVAL,
               "template line 1 col 4: raise_exception: Bad role: system");
    EXPECT_ERR("{{ messages + 1 }}", CONV, NCONV, TK_EINVAL, "unsupported operand types list and integer");
    EXPECT_ERR("{{ 'a' + nothing }}", CONV, NCONV, TK_EINVAL, "'nothing' is undefined");
    EXPECT_ERR("{{ nothing.attr }}", CONV, NCONV, TK_EINVAL, "'nothing' is undefined");
    EXPECT_ERR("{{ 1 // 0 }}", CONV, NCONV, TK_EINVAL, "division by zero");
    EXPECT_ERR("{{ 9223372036854775807 + 1 }}", CONV, NCONV, TK_EINVAL, "integer overflow");
    EXPECT_ERR("{{ 9223372036854775808 }}", CONV, NCONV, TK_EFORMAT, "integer literal too large");
    EXPECT_ERR("{% set x.y = 1 %}", CONV, NCONV, TK_EINVAL, "cannot set an attribute of undefined");
    EXPECT_ERR("{% break %}", CONV, NCONV, TK_EFORMAT, "break outside a loop");
}

static void test_limits(void) {
    /* a loop that runs (nearly) forever */
    EXPECT_ERR("{% for a in range(1000000) %}{% for b in range(1000000) %}x{% endfor %}{% endfor %}", CONV, NCONV,
               TK_ENOMEM, "step limit");
    EXPECT_ERR("{% for a in range(100000000) %}{% endfor %}", CONV, NCONV, TK_ENOMEM, "range() too long");
    /* strings that double until memory runs out */
    EXPECT_ERR("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
               CONV, NCONV, TK_ENOMEM, "working memory limit");
    /* a list that contains itself, printed */
    EXPECT_ERR("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}",
               CONV, NCONV, TK_EINVAL, "nested too deeply");
    /* output past the limit */
    tk_tmpl_limits lim = {.max_out = 1000};
    tk_error e = {0};
    char *out = render_l("{% for i in range(2000) %}x{% endfor %}", CONV, NCONV, 1, "", "", &lim, &e);
    T_CHECK(!out && e.code == TK_ENOMEM && strstr(e.msg, "output limit (1000 bytes)"), "got '%s'", e.msg);
    free(out);
    out = render_l("{% for i in range(999) %}x{% endfor %}", CONV, NCONV, 1, "", "", &lim, &e);
    T_CHECK(out && strlen(out) == 999, "999 bytes fit in 1000: %s", e.msg);
    free(out);
    lim = (tk_tmpl_limits){.max_steps = 100};
    out = render_l("{% for i in range(50) %}{{ i }}{% endfor %}", CONV, NCONV, 1, "", "", &lim, &e);
    T_CHECK(!out && strstr(e.msg, "step limit (100)"), "got '%s'", e.msg);
    free(out);
}

static void test_nesting(void) {
    char *t = malloc(20000);
    /* parentheses */
    strcpy(t, "{{ ");
    for (int i = 0; i < 500; i++) strcat(t, "(");
    strcat(t, "1");
    for (int i = 0; i < 500; i++) strcat(t, ")");
    strcat(t, " }}");
    EXPECT_ERR(t, CONV, NCONV, TK_EFORMAT, "nested too deeply");
    /* blocks */
    t[0] = 0;
    for (int i = 0; i < 300; i++) strcat(t, "{% if true %}");
    EXPECT_ERR(t, CONV, NCONV, TK_EFORMAT, "nested too deeply");
    /* a long chain of operators is a deep tree too */
    strcpy(t, "{{ 1");
    for (int i = 0; i < 2000; i++) strcat(t, " + 1");
    strcat(t, " }}");
    EXPECT_ERR(t, CONV, NCONV, TK_EFORMAT, "expression nested too deeply");
    /* ... and so is an elif chain */
    strcpy(t, "{% if false %}");
    for (int i = 0; i < 300; i++) strcat(t, "{% elif false %}");
    strcat(t, "{% endif %}");
    EXPECT_ERR(t, CONV, NCONV, TK_EFORMAT, "nested too deeply");
    /* not not not ... */
    strcpy(t, "{{ ");
    for (int i = 0; i < 1000; i++) strcat(t, "not ");
    strcat(t, "1 }}");
    EXPECT_ERR(t, CONV, NCONV, TK_EFORMAT, "nested too deeply");
    /* within the limits it works */
    strcpy(t, "{{ ");
    for (int i = 0; i < 20; i++) strcat(t, "(");
    strcat(t, "2");
    for (int i = 0; i < 20; i++) strcat(t, ")");
    strcat(t, " }}");
    EXPECT(t, CONV, NCONV, 1, "", "", "2");
    free(t);
}

int main(void) {
    T_RUN(test_chatml);
    T_RUN(test_qwen25);
    T_RUN(test_qwen3);
    T_RUN(test_llama3);
    T_RUN(test_llama31);
    T_RUN(test_llama2);
    T_RUN(test_mistral);
    T_RUN(test_phi3);
    T_RUN(test_zephyr);
    T_RUN(test_gemma);
    T_RUN(test_deepseek_coder);
    T_RUN(test_gguf_template);
    T_RUN(test_api);
    T_RUN(test_expressions);
    T_RUN(test_statements);
    T_RUN(test_filters_methods);
    T_RUN(test_whitespace);
    T_RUN(test_errors);
    T_RUN(test_limits);
    T_RUN(test_nesting);
    return t_done();
}

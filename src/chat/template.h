/* template.h: a small Jinja2 interpreter for the chat templates that models
 * carry (GGUF tokenizer.chat_template, tokenizer_config.json chat_template).
 *
 * Why an interpreter and not a table of known templates: the templates in
 * real files differ in details from model to model (default system
 * prompts, trimming, role checks that raise) and a table would render a
 * near-miss template silently wrong. The subset here is what the common
 * families' templates use (ChatML/Qwen, Llama 2/3/3.1, Mistral, Phi-3,
 * Zephyr, Gemma, DeepSeek, Qwen3):
 *
 *   {{ expr }}  {% if/elif/else/endif %}  {% for x in xs [if c] %}...{% else %}
 *   {% endfor %} (loop.index/index0/first/last/length/revindex)  {% set x = e %}
 *   {% set ns.x = e %}  {% break %} {% continue %}  {# comments #}
 *   {% generation %}...{% endgeneration %} (rendered as its body)
 *   whitespace control {%- -%} {{- -}}, and Hugging Face's environment
 *   settings trim_blocks + lstrip_blocks;
 *   literals 'str' "str" 12 true/false/none [a, b] {'k': v}; operators
 *   or and not == != < > <= >= in, not in, is [not] TEST, + - * // % ~,
 *   a if c else b; x.attr x['key'] x[i] x[a:b:c];
 *   filters trim length count upper lower capitalize title first last
 *   string join default list reverse tojson safe items;
 *   string methods strip lstrip rstrip upper lower title capitalize
 *   startswith endswith split replace; dict methods get items keys values;
 *   globals raise_exception(msg), namespace(k=v, ...), range(...);
 *   tests defined undefined none string number integer mapping sequence
 *   iterable boolean true false odd even equalto/eq.
 *
 * Anything else is a clean error naming line and column. Templates are
 * hostile input: the parse tree's depth, the evaluation steps, the working
 * memory and the output size are all bounded. Scoping follows Jinja: a
 * {% set %} inside a for loop does not outlive the loop (namespace() is the
 * way out, as in Jinja). */
#ifndef TK_CHAT_TEMPLATE_H
#define TK_CHAT_TEMPLATE_H

#include <stddef.h>
#include "tick.h"

typedef struct tk_tmpl_limits {
    long max_steps;   /* evaluation steps; 0: 4,000,000             */
    size_t max_out;   /* output bytes; 0: 16 MiB                     */
    size_t max_mem;   /* working memory (values, tree); 0: 64 MiB    */
} tk_tmpl_limits;

/* The variables a chat template sees. */
typedef struct tk_tmpl_vars {
    const tk_chat_msg *msgs; /* messages: a list of {role, content}   */
    int n_msgs;
    int add_gen;             /* add_generation_prompt                */
    const char *bos, *eos;   /* bos_token, eos_token (NULL: "")      */
} tk_tmpl_vars;

/* Render src[0..n) with vars. *out is malloc'd and NUL-terminated; returns
 * its length, or a negative tk_status with e set to one line that starts
 * "template line L col C: " (TK_EFORMAT for syntax errors, TK_EINVAL for
 * errors while rendering and raise_exception, TK_EUNSUPPORTED for Jinja
 * the subset lacks, TK_ENOMEM for a limit exceeded or allocation failure). */
int tk_tmpl_render(const char *src, size_t n, const tk_tmpl_vars *vars, const tk_tmpl_limits *lim,
                   char **out, tk_error *e);

#endif

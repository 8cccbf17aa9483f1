// openai_client.cjs: the official OpenAI Node client against `tick serve`
// (used by tests/test_serve.c when node and the npm package `openai` are
// there: NODE_PATH=DIR/node_modules, installed outside the repo, e.g.
// `npm install --prefix /tmp/oai openai@4`). Prints one "ok NAME" or
// "fail NAME: why" line per check.
//   node tests/serve/openai_client.cjs http://127.0.0.1:PORT/v1 [KEY]
const OpenAI = require('openai');
const client = new OpenAI({ baseURL: process.argv[2], apiKey: process.argv[3] || 'none', maxRetries: 0 });
const check = (name, cond, why) => console.log(cond ? `ok ${name}` : `fail ${name}: ${why}`);
(async () => {
  try {
    const models = await client.models.list();
    check('models', models.data.length === 1 && models.data[0].object === 'model', JSON.stringify(models.data));
    const msgs = [{ role: 'user', content: 'Tell me a story' }];
    const full = await client.chat.completions.create({ model: 'm', messages: msgs, max_tokens: 24, temperature: 0 });
    const want = full.choices[0].message.content;
    check('chat', want.length > 0 && full.usage.completion_tokens > 0, JSON.stringify(full));
    const stream = await client.chat.completions.create({ model: 'm', messages: msgs, max_tokens: 24, temperature: 0, stream: true });
    let got = '', chunks = 0, finish = null;
    for await (const c of stream) {
      chunks++;
      if (c.choices[0] && c.choices[0].delta.content) got += c.choices[0].delta.content;
      if (c.choices[0] && c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
    }
    check('chat-stream', got === want && chunks >= 2 && finish === 'length', `${JSON.stringify(got)} vs ${JSON.stringify(want)}, ${chunks} chunks, ${finish}`);
    const comp = await client.completions.create({ model: 'm', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stop: ['\n\n'] });
    check('completion', comp.choices[0].text.length > 0 && comp.object === 'text_completion', JSON.stringify(comp));
    try {
      await client.completions.create({ model: 'm', prompt: 'x', n: 3 });
      check('error-400', false, 'n=3 was accepted');
    } catch (e) {
      check('error-400', e.status === 400 && /'n'/.test(e.message), `${e.status} ${e.message}`);
    }
    const emb = await client.embeddings.create({ model: 'm', input: ['a cat', 'a dog'] });
    // the client asks for base64 and decodes it: a unit vector either way
    const norm = emb.data[0].embedding.reduce((a, x) => a + x * x, 0);
    check('embeddings', emb.data.length === 2 && emb.data[0].embedding.length > 0 && Math.abs(norm - 1) < 1e-3, JSON.stringify(emb).slice(0, 200));
  } catch (e) {
    check('client', false, `${e.status || ''} ${e.message}`);
  }
})();

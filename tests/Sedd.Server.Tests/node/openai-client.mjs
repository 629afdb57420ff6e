// Drives `sedd serve` with the official OpenAI Node SDK, as a user's program would:
//   node openai-client.mjs BASE_URL API_KEY MODULES_DIR
// MODULES_DIR holds node_modules/openai (npm install openai@7). Prints one JSON object with what it saw;
// exits 1 with a message on the first failed check.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseURL, apiKey, modulesDir] = process.argv.slice(2);
const require = createRequire(join(resolve(modulesDir), 'package.json'));
const { default: OpenAI } = await import(pathToFileURL(require.resolve('openai')).href);

const client = new OpenAI({ baseURL, apiKey, timeout: 120_000, maxRetries: 0 });
const out = {};

// The model list: one model, the package.
const models = await client.models.list();
const model = models.data[0].id;
assert.equal(models.data.length, 1);
out.model = model;

// A completion with Sedd's own fields (steps) passed through the SDK's body.
const one = await client.completions.create({ model, prompt: 'The cat', max_tokens: 24, seed: 7, steps: 6 });
assert.equal(one.object, 'text_completion');
assert.equal(one.choices.length, 1);
assert.equal(typeof one.choices[0].text, 'string');
assert.ok(['stop', 'length'].includes(one.choices[0].finish_reason));
assert.equal(one.usage.total_tokens, one.usage.prompt_tokens + one.usage.completion_tokens);
assert.equal(one.sedd.steps, 6);
out.single = one.choices[0].text;

// n = 3: three choices, in order.
const three = await client.completions.create({ model, prompt: 'The cat', max_tokens: 24, seed: 7, steps: 6, n: 3 });
assert.deepEqual(three.choices.map(c => c.index), [0, 1, 2]);
assert.equal(three.choices[0].text, out.single, 'choice 0 of n = 3 is the single sample of the same seed');
out.three = three.choices.map(c => c.text);

// suffix: OpenAI's insertion parameter.
const suffixed = await client.completions.create({ model, prompt: 'Once', suffix: ' the end.', max_tokens: 24, seed: 3, steps: 6 });
assert.equal(suffixed.choices.length, 1);
out.suffix = suffixed.choices[0].text;

// Streaming: whole canvases, then a final chunk with finish_reason.
const stream = await client.completions.create({ model, prompt: 'The cat', max_tokens: 24, seed: 7, steps: 6, stream: true });
const chunks = [];
for await (const chunk of stream) chunks.push(chunk);
assert.ok(chunks.length >= 7, `expected a canvas per step and a final chunk, got ${chunks.length}`);
const last = chunks[chunks.length - 1];
assert.ok(['stop', 'length'].includes(last.choices[0].finish_reason));
assert.equal(last.choices[0].text, out.single, 'the streamed final text is the text of the same request without streaming');
assert.ok(chunks.slice(0, -1).every(c => c.choices[0].finish_reason === null));
out.streamChunks = chunks.length;

// Errors arrive as the SDK's typed errors, with OpenAI's fields.
try {
  await client.completions.create({ model: 'gpt-4', prompt: 'x' });
  assert.fail('an unknown model was accepted');
} catch (e) {
  assert.ok(e instanceof OpenAI.NotFoundError, `expected NotFoundError, got ${e?.constructor?.name}: ${e?.message}`);
  assert.equal(e.status, 404);
  assert.equal(e.code, 'model_not_found');
  assert.equal(e.param, 'model');
}
try {
  await client.completions.create({ model, prompt: 'x', steps: 0 });
  assert.fail('steps 0 was accepted');
} catch (e) {
  assert.ok(e instanceof OpenAI.BadRequestError, `expected BadRequestError, got ${e?.constructor?.name}: ${e?.message}`);
  assert.equal(e.status, 400);
  assert.equal(e.param, 'steps');
  assert.equal(e.type, 'invalid_request_error');
}
try {
  await new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 }).completions.create({ model, prompt: 'x' });
  assert.fail('a wrong key was accepted');
} catch (e) {
  assert.ok(e instanceof OpenAI.AuthenticationError, `expected AuthenticationError, got ${e?.constructor?.name}: ${e?.message}`);
}

console.log(JSON.stringify(out));

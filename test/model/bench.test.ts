// The model benchmark functions' plumbing on tiny sizes (the figures themselves come from `bench engine`).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureDecodeAtContext, measureLoraStep, measureSampling } from '../../src/model/bench.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { tinyConfig, tinyModel } from '../../src/model/weights.js';

describe('model bench', () => {
  it('sampling throughput, decode cost at a context, one LoRA step', async () => {
    const lm = new CausalLM(tinyModel({ seed: 1 }), { session: { threads: 1 } });
    const s = await measureSampling(lm, { batch: 4, promptTokens: 8, newTokens: 6 });
    assert.equal(s.batch, 4);
    assert.ok(s.tokensPerSecond > 0 && Number.isFinite(s.tokensPerSecond));
    assert.ok((await measureDecodeAtContext(lm, 32, { steps: 3, rounds: 1 })) > 0);
    const r = await measureLoraStep(tinyConfig({ numLayers: 1 }), { seq: 16, r: 4, session: { threads: 1 } });
    assert.equal(r.seq, 16);
    assert.ok(r.parameters > 0 && r.forwardTokensPerSecond > 0 && r.loraStepSeconds > 0 && r.peakRssBytes > 0);
  });
});

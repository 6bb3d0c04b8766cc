// The execution-provider option: cpu as shipped; cuda refused with what to install when its provider library
// is absent (onnxruntime-node is installed here with ONNXRUNTIME_NODE_INSTALL=skip, so it is).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Graph, compile, executionProviders, run } from '../../src/engine/index.js';
import { ortNativeDirs } from '../../src/engine/device.js';
import * as op from '../../src/engine/ops.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const cudaInstalled = ortNativeDirs().some((d) => spawnSync('test', ['-e', join(d, 'libonnxruntime_providers_cuda.so')]).status === 0);

describe('device', () => {
  it('cpu runs on the CPU provider; cuda comes first with the CPU provider behind it when its library is there', () => {
    assert.deepEqual(executionProviders('cpu'), ['cpu']);
    const dir = mkdtempSync(join(tmpdir(), 'securecoderl-ep-'));
    try {
      assert.throws(() => executionProviders('cuda', [dir]), (e: Error) => e.message.includes(`no libonnxruntime_providers_cuda.so in ${dir}`)
        && e.message.includes('ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node') && e.message.includes('--device cpu'));
      writeFileSync(join(dir, 'libonnxruntime_providers_cuda.so'), '');
      assert.deepEqual(executionProviders('cuda', [dir]), ['cuda', 'cpu']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => executionProviders('tpu' as 'cpu'), /expected one of cpu, cuda, got "tpu"/);
  });

  it('a graph compiled for cuda without the provider fails before ORT is asked, naming what to install', { skip: cudaInstalled && 'the CUDA provider is installed here' }, async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    g.output('y', op.add(x, x));
    await assert.rejects(compile(g, ['y'], { device: 'cuda' }), /device cuda: ONNX Runtime's CUDA provider is not installed .*ONNXRUNTIME_NODE_INSTALL=cuda12/s);
    const out = await run(g, ['y'], { x: Float32Array.from([1, 2]) }, { device: 'cpu' });
    assert.deepEqual([...out.y.data], [2, 4]);
  });

  it('the CLI takes --device before or after the command; a bad name is a usage error; cuda without its provider exits 1', { skip: cudaInstalled && 'the CUDA provider is installed here' }, () => {
    const bad = spawnSync(process.execPath, [cli, '--device', 'gpu', 'bench', 'engine'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--device must be one of cpu, cuda, got "gpu"/);
    for (const argv of [['--device', 'cuda', 'logits', '--help'], ['logits', '--device=cuda', '--help']]) {
      const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8' });
      assert.equal(r.status, 1, argv.join(' '));
      assert.match(r.stderr, /CUDA provider is not installed/);
    }
    const cpu = spawnSync(process.execPath, [cli, '--device', 'cpu', 'logits', '--help'], { encoding: 'utf8' });
    assert.equal(cpu.status, 0, cpu.stderr);
  });
});

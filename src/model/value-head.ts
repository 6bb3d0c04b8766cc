// A scalar value head for PPO: value = hidden · w + b at every position, read from the decoder's final
// normalised hidden state. Saved as `value_head.safetensors` with TRL's tensor names
// (`v_head.summary.weight` [1, hidden], `v_head.summary.bias` [1]); also the graph input names.

import { join } from 'node:path';
import type { ModelConfig } from './config.js';
import { Rng } from '../random.js';
import { SafetensorsFile, writeSafetensors } from './safetensors.js';

export const VALUE_HEAD_FILE = 'value_head.safetensors';

export class ValueHead {
  constructor(readonly weight: Float32Array, readonly bias: Float32Array) {}

  /** Small random weights (N(0, 1/hidden)·0.1, seeded) and a zero bias. */
  static init(c: ModelConfig, seed = 0): ValueHead {
    const rng = new Rng(seed);
    const s = 0.1 / Math.sqrt(c.hiddenSize);
    return new ValueHead(Float32Array.from({ length: c.hiddenSize }, () => s * rng.normal()), new Float32Array(1));
  }

  static load(dir: string, c: ModelConfig): ValueHead {
    const path = join(dir, VALUE_HEAD_FILE);
    const f = new SafetensorsFile(path);
    try {
      const w = f.info('v_head.summary.weight');
      if (w.shape.join() !== `1,${c.hiddenSize}`) throw new Error(`${path}: 'v_head.summary.weight' has shape [${w.shape.join(', ')}], expected [1, ${c.hiddenSize}]`);
      return new ValueHead(f.readFloat32('v_head.summary.weight'), f.readFloat32('v_head.summary.bias'));
    } finally { f.close(); }
  }

  save(dir: string): void {
    writeSafetensors(join(dir, VALUE_HEAD_FILE), {
      'v_head.summary.weight': { shape: [1, this.weight.length], data: this.weight },
      'v_head.summary.bias': { shape: [1], data: this.bias },
    });
  }

  /** Graph feeds (zero-copy). */
  feeds(): Record<string, Float32Array> {
    return { 'v_head.summary.weight': this.weight, 'v_head.summary.bias': this.bias };
  }

  /** AdamW parameters (the bias without weight decay). */
  parameters(): { name: string; data: Float32Array; decay?: boolean }[] {
    return [{ name: 'v_head.summary.weight', data: this.weight }, { name: 'v_head.summary.bias', data: this.bias, decay: false }];
  }
}

// The checks GRPO and RLOO configs share: the same model, template, optimizer, sampling, reward backend,
// task data and quantization fields, with the same messages. Each trainer checks its own fields after.

import { resolveTemplate, type TemplateName } from '../data/templates.js';
import { checkQuantizeConfig, type QuantizeConfig } from './base-model.js';
import { expect, isNonNegativeInt, isPositiveInt } from './config.js';
import type { TaskDataConfig } from './task-split.js';

export interface SharedRlFields {
  model: string;
  template: TemplateName;
  klEstimator: string;
  lossType: string;
  beta: number;
  lr: number;
  lrSchedule: string;
  warmupSteps: number;
  gradClip: number;
  sampling: { maxNewTokens: number };
  reward: { security: string };
  data: TaskDataConfig;
  quantize: QuantizeConfig;
}

const oneOf = (v: string, options: readonly string[]) => options.includes(v);

export function checkSharedRlConfig(c: SharedRlFields, where: string): void {
  expect(c.model !== '', where, 'model', 'a model folder', c.model);
  resolveTemplate(c.template);
  expect(c.beta >= 0, where, 'beta', 'a number ≥ 0', c.beta);
  expect(oneOf(c.klEstimator, ['k1', 'k2', 'k3']), where, 'klEstimator', 'k1, k2 or k3', c.klEstimator);
  expect(oneOf(c.lossType, ['grpo', 'dr_grpo', 'dapo']), where, 'lossType', 'grpo, dr_grpo or dapo', c.lossType);
  expect(c.lr > 0, where, 'lr', 'a positive number', c.lr);
  expect(oneOf(c.lrSchedule, ['constant', 'linear', 'cosine']), where, 'lrSchedule', 'constant, linear or cosine', c.lrSchedule);
  expect(isNonNegativeInt(c.warmupSteps), where, 'warmupSteps', 'a non-negative integer', c.warmupSteps);
  expect(c.gradClip >= 0, where, 'gradClip', 'a number ≥ 0', c.gradClip);
  expect(isPositiveInt(c.sampling.maxNewTokens), where, 'sampling.maxNewTokens', 'a positive integer', c.sampling.maxNewTokens);
  expect(oneOf(c.reward.security, ['ruff', 'bandit', 'off']), where, 'reward.security', 'ruff, bandit or off', c.reward.security);
  expect(oneOf(c.data.split, ['mbpp', 'seeded']), where, 'data.split', 'mbpp or seeded', c.data.split);
  expect(isNonNegativeInt(c.data.promptTests), where, 'data.promptTests', 'a non-negative integer', c.data.promptTests);
  checkQuantizeConfig(c.quantize, where);
}

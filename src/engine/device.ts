// Which execution provider ONNX Runtime runs the graphs on. `cpu` ships inside onnxruntime-node; `cuda` needs
// the CUDA provider's shared libraries, which onnxruntime-node's install script downloads only when asked
// (and which this project installs without, offline). Asking for `cuda` without them is an error that says
// what to install, never a silent fall back to the CPU.

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const DEVICES = ['cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

let processDefault: Device = 'cpu';

/** The device of sessions that do not name one (the CLI's `--device` sets it). */
export function setDefaultDevice(device: Device): void {
  if (!DEVICES.includes(device)) throw new Error(`device: expected one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`);
  processDefault = device;
}

export function defaultDevice(): Device {
  return processDefault;
}

/** The folders onnxruntime-node loads its native libraries from (bin/napi-v*\/<platform>/<arch>). */
export function ortNativeDirs(): string[] {
  const root = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', '..', 'bin');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((d) => d.startsWith('napi-v')).map((d) => join(root, d, process.platform, process.arch)).filter((d) => existsSync(d));
}

/** How to get the CUDA provider, for error messages. */
export const CUDA_INSTALL_HINT = 'install onnxruntime-node with its CUDA 12 provider: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` '
  + '(downloads libonnxruntime_providers_cuda.so; needs network access, an NVIDIA driver, CUDA 12 and cuDNN 9), or run with --device cpu';

/**
 * ORT's execution providers for `device`: cuda first, with the CPU provider for the ops CUDA lacks. Throws,
 * naming the folder searched and what to install, when the CUDA provider's library is not there.
 */
export function executionProviders(device: Device, dirs?: readonly string[]): string[] {
  if (device === 'cpu') return ['cpu'];
  if (device !== 'cuda') throw new Error(`device: expected one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`);
  const nativeDirs = dirs ?? ortNativeDirs(); // read from disk only when cuda is asked for
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!nativeDirs.some((d) => existsSync(join(d, lib)))) {
    throw new Error(`device cuda: ONNX Runtime's CUDA provider is not installed (no ${lib} in ${nativeDirs.join(', ') || "onnxruntime-node's bin folder"}); ${CUDA_INSTALL_HINT}`);
  }
  return ['cuda', 'cpu'];
}

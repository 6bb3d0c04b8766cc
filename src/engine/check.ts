// Gradient checking: autodiff gradients against central finite differences, both computed by ONNX
// Runtime on the same graph in float64. Used by the engine's tests and by the model's whole-model check.

import { gradients } from './autodiff.js';
import type { Graph } from './graph.js';
import { compile, type Feed, type SessionOptions } from './session.js';
import type { Tensor } from './tensor.js';

export interface GradCheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Check at most this many elements per tensor, spread evenly (default: all). */
  maxPerTensor?: number;
  /** Session options; optimisation defaults to 'basic' (see DESIGN.md: float32-only fusions). */
  session?: SessionOptions;
}

export interface TensorCheck {
  name: string;
  checked: number;
  /** max |analytic − numeric| over the checked elements. */
  maxAbsErr: number;
  /** maxAbsErr / max |numeric| (the per-tensor relative error). */
  relErr: number;
  maxGrad: number;
}

export interface GradCheckResult {
  loss: number;
  tensors: TensorCheck[];
  worstRelErr: number;
}

/**
 * Checks d loss / d t for each t in `wrt`, which must be float64 graph inputs. Appends the gradient nodes
 * (outputs named `grad:<input>`) and a `loss` output to the graph if not present.
 */
export async function checkGradients(graph: Graph, loss: Tensor, wrt: readonly Tensor[],
  feeds: Readonly<Record<string, Feed>>, opts: GradCheckOptions = {}): Promise<GradCheckResult> {
  const eps = opts.eps ?? 1e-6;
  const so: SessionOptions = { optimization: 'basic', denormalAsZero: false, ...opts.session };
  for (const t of wrt) if (t.kind !== 'input' || t.dtype !== 'float64') throw new Error(`checkGradients: ${t.toString()} must be a float64 input`);
  let lossName = [...graph.outputs].find(([, t]) => t === loss)?.[0];
  if (!lossName) { lossName = 'loss'; graph.output(lossName, loss); }
  const gradNames = wrt.map((t) => `grad:${t.name}`);
  const missing = wrt.filter((t, i) => !graph.outputs.has(gradNames[i]));
  if (missing.length) {
    const grads = gradients(loss, missing);
    missing.forEach((t, i) => graph.output(`grad:${t.name}`, grads[i]));
  }

  // Private copies of the perturbed inputs, so the caller's arrays are left alone.
  const local: Record<string, Feed> = { ...feeds };
  for (const t of wrt) {
    const f = feeds[t.name];
    if (!f) throw new Error(`checkGradients: no feed for ${t.name}`);
    local[t.name] = ArrayBuffer.isView(f) ? new Float64Array(f as Float64Array) : { data: new Float64Array(f.data as Float64Array), dims: f.dims };
  }
  const full = await compile(graph, [lossName, ...gradNames], so);
  const lossOnly = await compile(graph, [lossName], so);
  const res = await full.run(local);
  const lossAt = async () => Number((await lossOnly.run(local))[lossName].data[0]);

  const tensors: TensorCheck[] = [];
  for (let k = 0; k < wrt.length; k++) {
    const f = local[wrt[k].name];
    const x = (ArrayBuffer.isView(f) ? f : f.data) as Float64Array;
    const analytic = res[gradNames[k]].data as Float64Array;
    const n = x.length;
    const count = Math.min(n, opts.maxPerTensor ?? n);
    let maxAbsErr = 0, maxGrad = 0;
    for (let c = 0; c < count; c++) {
      const i = count === n ? c : Math.floor((c * n) / count);
      const x0 = x[i];
      x[i] = x0 + eps; const lp = await lossAt();
      x[i] = x0 - eps; const lm = await lossAt();
      x[i] = x0;
      const numeric = (lp - lm) / (2 * eps);
      maxAbsErr = Math.max(maxAbsErr, Math.abs(analytic[i] - numeric));
      maxGrad = Math.max(maxGrad, Math.abs(numeric));
    }
    tensors.push({ name: wrt[k].name, checked: count, maxAbsErr, relErr: maxAbsErr / Math.max(maxGrad, 1e-12), maxGrad });
  }
  return { loss: Number(res[lossName].data[0]), tensors, worstRelErr: Math.max(0, ...tensors.map((t) => t.relErr)) };
}

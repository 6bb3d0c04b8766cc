// Running a graph: serialise the part of it needed for the requested outputs, create an onnxruntime-node
// InferenceSession (CPU), and run it with JS typed arrays as inputs (zero-copy). Sessions are cached
// per graph, outputs and options: graphs are append-only, so that key always means the same model.

import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Graph } from './graph.js';
import { defaultDevice, executionProviders, type Device } from './device.js';
import { encodeModel } from './onnx-proto.js';
import { FileSlice } from './file-slice.js';
import { arrayFits, dtypeOfArray, type Tensor, type TypedArray } from './tensor.js';

export interface SessionOptions {
  /** Where the graph runs (default: `defaultDevice()`, cpu unless the CLI's --device says otherwise). */
  device?: Device;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** ORT graph optimisation level (default 'all'). Float64 gradient checks need 'basic' (see DESIGN.md). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Flush denormals to zero (default true): masked softmax scores otherwise become denormals and run ~5×
   * slower. It applies to the thread that creates the first session — in Node the main thread — so JS
   * doubles there are flushed too (1e-300 * 1e-10 === 0).
   */
  denormalAsZero?: boolean;
  /** Let ORT's worker threads spin between runs (default true; false frees the cores for JS work). */
  spinning?: boolean;
  /** Fix symbolic dims (ORT freeDimensionOverrides), letting ORT plan memory for one shape. */
  fixedDims?: Readonly<Record<string, number>>;
  /** Declare every intermediate shape in the model and make ORT fail where its inference disagrees. */
  valueInfo?: boolean;
  /** Initializers of at least this many bytes go to an external data file (needed past 2 GiB). Default:
   * 1 MiB when the graph bakes in more than EXTERNAL_DATA_PAST_BYTES, otherwise none. */
  externalThreshold?: number;
  /** Write ORT's per-node profile (JSON, chrome-trace format) to files starting with this prefix. */
  profile?: string;
  /** ORT's CPU memory arena and memory-pattern planning (default true). Off, each run's intermediate
   * tensors are freed when it ends instead of staying reserved in the arena: a lower peak for large models,
   * at some allocation cost. */
  memoryArena?: boolean;
  /** Extra ORT session config entries, e.g. { 'session.disable_prepacking': '1' }. */
  config?: Readonly<Record<string, string>>;
}

/** A typed array (its shape taken from the input's fully numeric declared shape) or data with dims. */
export type Feed = TypedArray | { data: TypedArray; dims: readonly number[] };
export interface Output { data: TypedArray; dims: readonly number[] }

const cache = new WeakMap<Graph, Map<string, Promise<Executable>>>();

/**
 * Past this many bytes of initializers, a session takes them as ONNX external data: the protobuf holds
 * < 2 GiB, and a model serialised with its weights is one more full copy in memory while the session is
 * created (measured at DeepSeek-Coder-1.3B's shape, nbits4: the sampler's session creation peaked at
 * 3.27 GiB inline, 2.35 GiB external).
 */
export const EXTERNAL_DATA_PAST_BYTES = 256 * 2 ** 20;

/** Numbers the model files a process writes (their names must not collide in a shared folder). */
let modelFiles = 0;

function bakedBytes(graph: Graph): number {
  let bytes = 0;
  for (const [t, data] of graph.values) if (t.kind === 'initializer') bytes += data.byteLength;
  return bytes;
}

/** A compiled (pruned, serialised, loaded) graph for a fixed set of outputs. */
export class Executable {
  private constructor(
    readonly graph: Graph,
    readonly outputs: readonly string[],
    /** The graph inputs the pruned model reads; every one must be fed. */
    readonly inputs: readonly Tensor[],
    readonly session: InferenceSession,
    /** Bytes of the serialised model (for reports). */
    readonly modelBytes: number,
  ) {}

  static async create(graph: Graph, outputs: readonly string[], opts: SessionOptions = {}): Promise<Executable> {
    const so = sessionOptions(opts);
    const externalThreshold = opts.externalThreshold ?? (bakedBytes(graph) > EXTERNAL_DATA_PAST_BYTES ? 1 << 20 : undefined);
    const stem = `securecoderl-${process.pid}-${++modelFiles}`;
    const enc = encodeModel(graph, { outputs, valueInfo: opts.valueInfo, externalThreshold, externalLocation: `${stem}.data` });
    let session: InferenceSession;
    if (enc.external || enc.linked.length) {
      // External data is resolved relative to the model file (and ORT refuses paths that lead out of its
      // folder, links included): with files that initializers refer to in place (Graph.fileInitializer) the
      // model goes next to them for the moment the session is created, otherwise to a temporary folder.
      const folders = new Set(enc.linked.map((l) => dirname(l.path)));
      if (folders.size > 1) throw new Error(`graph ${graph.name}: initializers refer to files in ${folders.size} folders (${[...folders].join(', ')}); a model's external data must sit in one`);
      for (const l of enc.linked) new FileSlice(l.path, 0, l.end).check(); // one look at each file
      const dir = folders.size ? [...folders][0] : mkdtempSync(join(tmpdir(), 'securecoderl-onnx-'));
      const written = [join(dir, `${stem}.onnx`), ...(enc.external ? [join(dir, enc.external.location)] : [])];
      try {
        writeFileSync(written[0], enc.bytes);
        if (enc.external) {
          const fd = openSync(written[1], 'w');
          try { for (const b of enc.external.blocks) writeSync(fd, b.data, 0, b.data.length, b.offset); } finally { closeSync(fd); }
        }
        session = await InferenceSession.create(written[0], so);
      } finally {
        if (folders.size) for (const f of written) rmSync(f, { force: true });
        else rmSync(dir, { recursive: true, force: true });
      }
    } else {
      session = await InferenceSession.create(enc.bytes, so);
    }
    return new Executable(graph, outputs, enc.inputs, session, enc.bytes.length);
  }

  /**
   * Runs the model. Feeds are passed to ORT without copying; extra feeds (inputs this pruned model does not
   * read) are ignored. `into` gives preallocated output buffers, which ORT fills in place.
   */
  async run(feeds: Readonly<Record<string, Feed>>, into?: Readonly<Record<string, Output>>): Promise<Record<string, Output>> {
    const ortFeeds: Record<string, OrtTensor> = {};
    const symbols = new Map<string, number>();
    for (const t of this.inputs) {
      const f = feeds[t.name];
      if (f === undefined) throw new Error(`graph ${this.graph.name}: input '${t.name}' (${t.toString()}) was not fed`);
      const { data, dims } = checkFeed(t, f, symbols);
      ortFeeds[t.name] = new OrtTensor(t.dtype, data as never, dims);
    }
    let fetches: InferenceSession.FetchesType = this.outputs;
    if (into) {
      const f: Record<string, OrtTensor | null> = {};
      for (const name of this.outputs) {
        const o = into[name];
        f[name] = o ? new OrtTensor(dtypeOfArray(o.data), o.data as never, o.dims) : null;
      }
      fetches = f;
    }
    const res = await this.session.run(ortFeeds, fetches);
    const out: Record<string, Output> = {};
    for (const name of this.outputs) {
      const r = res[name] as OrtTensor;
      const pre = into?.[name];
      out[name] = { data: pre ? pre.data : (r.data as TypedArray), dims: r.dims };
    }
    return out;
  }

  /** Ends ORT profiling (see SessionOptions.profile), writing the profile file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Compiles `outputs` of `graph` (or returns the cached executable for the same graph, outputs and options).
 */
export function compile(graph: Graph, outputs: readonly string[], opts: SessionOptions = {}): Promise<Executable> {
  let perGraph = cache.get(graph);
  if (!perGraph) { perGraph = new Map(); cache.set(graph, perGraph); }
  const key = JSON.stringify([outputs, opts]);
  let exe = perGraph.get(key);
  if (!exe) {
    exe = Executable.create(graph, outputs, opts);
    perGraph.set(key, exe);
    exe.catch(() => perGraph.delete(key));
  }
  return exe;
}

/** Compiles and runs in one call (cached), returning the requested outputs. */
export async function run(graph: Graph, outputs: readonly string[], feeds: Readonly<Record<string, Feed>>,
  opts: SessionOptions = {}): Promise<Record<string, Output>> {
  return (await compile(graph, outputs, opts)).run(feeds);
}

/** Drops (and releases) every cached session of a graph. */
export async function releaseSessions(graph: Graph): Promise<void> {
  const perGraph = cache.get(graph);
  if (!perGraph) return;
  cache.delete(graph);
  for (const p of perGraph.values()) await (await p.catch(() => null))?.dispose();
}

function sessionOptions(o: SessionOptions): InferenceSession.SessionOptions {
  const config: Record<string, string> = {
    set_denormal_as_zero: o.denormalAsZero === false ? '0' : '1',
    'intra_op.allow_spinning': o.spinning === false ? '0' : '1',
  };
  // With declared intermediate shapes, make ORT fail on any disagreement with its own inference.
  if (o.valueInfo) config.strict_shape_type_inference = '1';
  for (const [k, v] of Object.entries(o.config ?? {})) config[k.replace(/^session\./, '')] = v;
  return {
    executionProviders: executionProviders(o.device ?? defaultDevice()),
    intraOpNumThreads: o.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: o.optimization ?? 'all',
    freeDimensionOverrides: o.fixedDims,
    logSeverityLevel: 3,
    ...(o.memoryArena === false ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
    ...(o.profile ? { enableProfiling: true, profileFilePrefix: o.profile } : {}),
    extra: { session: config },
  };
}

function checkFeed(t: Tensor, f: Feed, symbols: Map<string, number>): { data: TypedArray; dims: readonly number[] } {
  const data = ArrayBuffer.isView(f) ? f : f.data;
  const where = `input '${t.name}' (${t.toString()})`;
  if (!arrayFits(data, t.dtype)) throw new Error(`${where}: fed ${dtypeOfArray(data)} data`);
  let dims: readonly number[];
  if (ArrayBuffer.isView(f)) {
    if (!t.shape.every((d) => typeof d === 'number')) throw new Error(`${where}: symbolic shape, feed { data, dims }`);
    dims = t.shape as number[];
  } else {
    dims = f.dims;
  }
  if (dims.length !== t.rank) throw new Error(`${where}: fed rank ${dims.length} [${dims.join(', ')}]`);
  t.shape.forEach((d, i) => {
    if (typeof d === 'number') {
      if (dims[i] !== d) throw new Error(`${where}: axis ${i} is ${dims[i]}, expected ${d}`);
    } else {
      const seen = symbols.get(d);
      if (seen !== undefined && seen !== dims[i]) throw new Error(`${where}: '${d}' is ${dims[i]} here but ${seen} in another input`);
      symbols.set(d, dims[i]);
    }
  });
  const n = dims.reduce((p, d) => p * d, 1);
  if (data.length !== n) throw new Error(`${where}: ${data.length} elements for dims [${dims.join(', ')}] (${n})`);
  return { data, dims };
}

import type { Judge } from '../judge/judge.js';
import { Collected, Counter, Histogram, Registry } from './metrics.js';
import type { ScoringQueue } from './queue.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const REWARD_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/** What `GET /metrics` reports, all named `securecoderl_*`. */
export class ServeMetrics {
  readonly registry = new Registry();
  /** By route (`/v1/score`, …, `unmatched`) and status code. */
  readonly requests = this.registry.add(new Counter('securecoderl_http_requests_total', 'HTTP requests answered, by route and status code.'));
  readonly requestSeconds = this.registry.add(new Histogram('securecoderl_http_request_duration_seconds', 'Time from receiving a request to answering it, by route.', LATENCY_BUCKETS));
  /** By status: scored, timed_out, error. */
  readonly samples = this.registry.add(new Counter('securecoderl_samples_total', 'Samples answered, by status (scored, timed_out, error).'));
  readonly rejected = this.registry.add(new Counter('securecoderl_samples_rejected_total', 'Samples in requests refused with 429 (a request refused before its body was read, because the queue was already full, counts only in securecoderl_http_requests_total).'));
  readonly sampleSeconds = this.registry.add(new Histogram('securecoderl_sample_latency_seconds', 'Time from admitting a sample to answering it (queue wait included).', LATENCY_BUCKETS));
  readonly rewards = this.registry.add(new Histogram('securecoderl_sample_reward', 'Rewards of scored samples.', REWARD_BUCKETS));
  readonly promptNotFound = this.registry.add(new Counter('securecoderl_openrlhf_prompt_not_found_total', 'OpenRLHF samples whose prompt was not found in the query (the whole query was scored).'));

  constructor(queue: ScoringQueue, judge: Judge) {
    const r = this.registry;
    r.add(new Collected('securecoderl_test_executions_total', 'Test executions in the sandbox.', 'counter', () => judge.executions));
    r.add(new Collected('securecoderl_sandbox_restarts_total', 'Sandboxed workers restarted after dying or overrunning their backstop.', 'counter', () => judge.restarts));
    r.add(new Collected('securecoderl_sandbox_workers', 'Sandboxed judge workers.', 'gauge', () => judge.options.workers));
    r.add(new Collected('securecoderl_queue_depth', 'Admitted samples waiting to start.', 'gauge', () => queue.waiting));
    r.add(new Collected('securecoderl_queue_running', 'Samples being scored (including ones already answered as timed out).', 'gauge', () => queue.running));
    r.add(new Collected('securecoderl_queue_capacity', 'Most samples admitted at once (waiting plus running); beyond it requests get 429.', 'gauge', () => queue.capacity));
  }
}

/**
 * A request the service refuses, with the HTTP status and the field at fault (`body`,
 * `samples[3].problem_id`, `labels[0]` …). The server answers `{"error": "<field>: <message>", "field": …}`.
 */
export class RequestError extends Error {
  readonly headers: Record<string, string>;
  /** Further problems in the same request, already formatted as `field: detail`. */
  readonly more: string[];

  constructor(readonly status: number, readonly field: string, readonly detail: string, extra: { headers?: Record<string, string>; more?: string[] } = {}) {
    super(`${field}: ${detail}`);
    this.name = 'RequestError';
    this.headers = extra.headers ?? {};
    this.more = extra.more ?? [];
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  field?: string;
  /** Further problems found in the same request (at most a few), after `error`. */
  more?: string[];
  retry_after_s?: number;
}

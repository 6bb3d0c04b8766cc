import { loadProblems, type Problem } from '../data/index.js';

/**
 * Reads the problem files a server preloads. Each entry is a path (our JSONL or an APPS+ JSON list),
 * or `PREFIX=PATH` to name its problems `PREFIX/ID` — APPS+ lists name problems by index, so two of
 * them would otherwise share ids. A file with bad records, or an id defined twice, is refused with
 * the file, the record and the field: a reward service should not start on half its data.
 */
export function loadProblemFiles(specs: readonly string[]): Problem[] {
  const all: Problem[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const prefix = eq > 0 && !spec.slice(0, eq).includes('/') ? spec.slice(0, eq) : undefined;
    const path = prefix === undefined ? spec : spec.slice(eq + 1);
    const { problems, errors } = loadProblems(path);
    if (errors.length > 0) {
      const more = errors.length > 5 ? `\n  … and ${errors.length - 5} more` : '';
      throw new Error(`problems file ${path}: ${errors.length} bad record(s):\n  ${errors.slice(0, 5).join('\n  ')}${more}`);
    }
    for (const problem of problems) all.push(prefix === undefined ? problem : { ...problem, id: `${prefix}/${problem.id}` });
  }
  problemIndex(all);
  return all;
}

/** Problems by id; an id defined twice is an error naming both sources. */
export function problemIndex(problems: Iterable<Problem>): Map<string, Problem> {
  const byId = new Map<string, Problem>();
  for (const problem of problems) {
    const earlier = byId.get(problem.id);
    if (earlier) {
      throw new Error(`problems: id ${JSON.stringify(problem.id)} is defined twice (${earlier.source ?? '?'} and ${problem.source ?? '?'}); name one file's problems with PREFIX=FILE`);
    }
    byId.set(problem.id, problem);
  }
  return byId;
}

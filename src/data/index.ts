import { firstCharacter } from './files.js';
import { loadAppsPlus, type LoadOptions } from './apps-plus.js';
import { loadProblemsJsonl } from './jsonl.js';
import type { LoadReport } from './problem.js';

export * from './problem.js';
export { loadAppsPlus, problemFromAppsPlus, stubFunctionName, type LoadOptions } from './apps-plus.js';
export { loadProblemsJsonl, jsonlLines } from './jsonl.js';
export { parseJson } from './json.js';
export { readDataText } from './files.js';
export { loadApps, problemFromAppsDir, appsProblemDirs } from './apps.js';
export { loadMbpp, loadMbppSanitized, problemFromMbpp, mbppSplitOf, mbppPrompt, type MbppOptions, type MbppSplit } from './mbpp.js';
export { loadHumanEval, problemFromHumanEval, splitCheckModule } from './humaneval.js';
export { loadOdex, problemFromOdex, odexPrompt, ODEX_THIRD_PARTY, type OdexOptions } from './odex.js';
export { loadCyberSecEval, problemFromCyberSecEval, cyberSecEvalVariant, type CyberSecEvalOptions, type CyberSecEvalVariant } from './cyberseceval.js';
export {
  loadDataset, detectFormat, BUNDLED_DATA_DIR, DATASET_NAMES, DATASET_FILES,
  type DatasetName, type DatasetOptions, type DataFormat,
} from './datasets.js';
export { compileAsserts, definedNames, HARNESS_FN, type AssertTest, type TestHarness, type AssertSource, type CompiledAsserts } from './asserts.js';
export { judgeTaskFor } from './judge-task.js';
export { detectStyle, decodeArgumentList, type StyleEvidence, type StyleDecision } from './style.js';
export { Rng, fnv1a64, splitMix64, seedValue, type Seed } from '../random.js';
export {
  cyberSecEvalOrigin, splitCyberSecEval, mixPromptSets, SECURITY_SPLIT_DEFAULTS, type SecuritySplit, type PromptSetPart,
} from './security-prompts.js';
export { splitIds, writeSplit, readSplit, applySplit, idsFingerprint, type DataSplit, type SplitOptions } from './split.js';
export {
  renderPrompt, renderExample, promptText, resolveTemplate, DEFAULT_TEMPLATE, TEMPLATE_NAMES,
  type TemplateName, type PromptTemplate, type RenderedPrompt, type ChatMessage,
} from './templates.js';
export { tokenize, statements, literalValue, canonical, pythonFloatRepr, type PyValue } from './python-syntax.js';

/** Loads problems from our JSONL or an APPS+ JSON list, telling them apart by the first character. */
export function loadProblems(path: string, options: LoadOptions = {}): LoadReport {
  return firstCharacter(path, 'problems file') === '[' ? loadAppsPlus(path, options) : loadProblemsJsonl(path, options);
}
export { loadSamples, type Sample } from './samples.js';

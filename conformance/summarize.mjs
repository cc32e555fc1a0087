// Turns the per-scenario output of `conformance server --scenario S -o DIR/S`
// into one machine-readable result file on stdout.
//
//   node summarize.mjs <mode> <dir> <scenario>...
//
// A scenario passes when the suite recorded at least one SUCCESS check and no
// FAILURE or WARNING check (the suite's own exit code ignores warnings). A
// scenario without checks.json (it crashed or timed out) fails with the end of
// its log as the reason. `checks` keeps each check id's worst status and
// reason, so compare.mjs can tell when a check that succeeded directly only
// got INFO through the gateway (the suite then skipped what it tests).
// The output has no timestamps or ports, so it only changes when results do.
// SUITE_DIR (default: this directory) is where the suite that ran is installed
// (conformance/2026 for the 2026-07-28 run).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [mode, dir, ...scenarios] = process.argv.slice(2);
if (!mode || !dir || scenarios.length === 0) {
  console.error('usage: node summarize.mjs <mode> <dir> <scenario>...');
  process.exit(2);
}

const suitePackage = JSON.parse(
  readFileSync(
    join(
      process.env.SUITE_DIR ?? here,
      'node_modules',
      '@modelcontextprotocol',
      'conformance',
      'package.json',
    ),
    'utf8',
  ),
);

// The newest checks.json the suite wrote for `scenario`, or undefined.
function checksOf(scenario) {
  const scenarioDir = join(dir, scenario);
  if (!existsSync(scenarioDir)) return undefined;
  const runs = readdirSync(scenarioDir)
    .filter((name) => name.startsWith(`server-${scenario}-`))
    .sort();
  const latest = runs.at(-1);
  if (!latest) return undefined;
  const file = join(scenarioDir, latest, 'checks.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

// The last non-empty lines of the scenario's console output.
function logTail(scenario, lines = 5) {
  const file = join(dir, `${scenario}.log`);
  if (!existsSync(file)) return 'no output';
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}

// Check ids that only trace the HTTP exchange; left out of `checks`.
const isTrace = (id) => /^(incoming|outgoing)-|^stream-closed$/.test(id);
const rank = { FAILURE: 3, WARNING: 2, SUCCESS: 1, INFO: 0 };

// Per check id, the most severe status it got and why.
function checkTable(checks) {
  const table = {};
  for (const check of checks) {
    const message = check.errorMessage ?? check.details?.message ?? check.description;
    const entry = { status: check.status, message };
    const seen = table[check.id];
    if (!seen || (rank[entry.status] ?? 0) > (rank[seen.status] ?? 0)) table[check.id] = entry;
  }
  for (const id of Object.keys(table)) {
    if (isTrace(id) && table[id].status === 'INFO') delete table[id];
  }
  return table;
}

function summarize(scenario) {
  const checks = checksOf(scenario);
  if (!Array.isArray(checks)) {
    return {
      result: 'fail',
      counts: { success: 0, failure: 0, warning: 0 },
      checks: {},
      problems: [{ check: scenario, status: 'ERROR', message: `no results: ${logTail(scenario)}` }],
    };
  }
  const count = (status) => checks.filter((check) => check.status === status).length;
  const counts = { success: count('SUCCESS'), failure: count('FAILURE'), warning: count('WARNING') };
  const problems = checks
    .filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
    .map((check) => ({
      check: check.id,
      status: check.status,
      message: check.errorMessage ?? check.description,
    }));
  if (counts.success === 0 && problems.length === 0) {
    problems.push({ check: scenario, status: 'NO_SUCCESS', message: 'no check succeeded' });
  }
  return {
    result: problems.length === 0 ? 'pass' : 'fail',
    counts,
    checks: checkTable(checks),
    problems,
  };
}

const results = Object.fromEntries(scenarios.map((scenario) => [scenario, summarize(scenario)]));
const named = (result) => scenarios.filter((scenario) => results[scenario].result === result);
const summary = {
  suite: `${suitePackage.name}@${suitePackage.version}`,
  mode,
  passed: named('pass'),
  failed: named('fail'),
  scenarios: results,
};
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);

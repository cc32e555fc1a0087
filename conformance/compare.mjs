// Compares the direct and the gateway results written by summarize.mjs.
//
//   node compare.mjs <direct.json> <gateway.json> <comparison.json>
//
// A scenario passes through the gateway when it passes there (see
// summarize.mjs) and every check that succeeded directly also succeeded
// through the gateway: the suite skips some checks with only an INFO when a
// feature is missing (e.g. a stream that cannot be resumed), which must not
// count (except the differences listed in ACCEPTED). Prints both pass lists and the differences, writes them to
// <comparison.json>, and exits 1 (printing the suite's reasons) when a scenario
// passes directly but not through the gateway (unless it lost only checks listed in
// KNOWN_GATEWAY_GAPS, each a known gateway defect; a listed check that passes fails the
// run too), or fails directly without being listed in ALLOWED_DIRECT_FAILURES; 0 otherwise.

import { readFileSync, writeFileSync } from 'node:fs';

const [directFile, gatewayFile, comparisonFile] = process.argv.slice(2);
if (!directFile || !gatewayFile || !comparisonFile) {
  console.error('usage: node compare.mjs <direct.json> <gateway.json> <comparison.json>');
  process.exit(2);
}
const direct = JSON.parse(readFileSync(directFile, 'utf8'));
const gateway = JSON.parse(readFileSync(gatewayFile, 'utf8'));
const scenarios = Object.keys(direct.scenarios);

// Checks that may succeed directly yet only get INFO through the gateway,
// because the gateway legitimately answers differently. Printed on every run.
const ACCEPTED = {
  'server-sse-multiple-streams': {
    'server-sse-streams-functional':
      'the scenario sends tools/list, which the broker answers itself with a JSON body ' +
      '(the spec lets a server answer a POST with JSON or SSE); requests routed to a ' +
      'backend keep its SSE stream',
  },
};

const acceptedLoss = (name, id) => ACCEPTED[name]?.[id];

// Scenarios that may fail directly, each with why (suite -> scenario name -> reason). Any
// other scenario that fails directly fails the run: the fixture is broken, and comparing
// the gateway with it proves nothing. 0.1.16: every server scenario passes directly
// against crates/conformance-server. 0.2.0-alpha.12 (2026-07-28): the SDK fixture
// (conformance/2026/fixture-server.mjs) does not implement these scenarios' diagnostic
// tools yet.
const NO_TOOL = (tools) => `the fixture has no ${tools} yet`;
const ALLOWED_DIRECT_FAILURES =
  {
    '@modelcontextprotocol/conformance@0.2.0-alpha.12': {
      'json-schema-2020-12': NO_TOOL('json_schema_2020_12_tool (pending in the suite)'),
      'http-custom-header-server-validation': NO_TOOL(
        'tool with x-mcp-header annotations (pending in the suite)',
      ),
    },
  }[direct.suite] ?? {};

// Known gateway defects: checks that pass directly but not through the gateway, per
// suite, scenario and check id, each with why. A scenario whose only losses are listed
// here still counts as failing through the gateway (it is not in the pass list), but does
// not fail the run; any other lost check does, and so does a listed check that no longer
// fails (remove it). See conformance/README.md.
const KNOWN_GATEWAY_GAPS =
  {
    '@modelcontextprotocol/conformance@0.2.0-alpha.12': {},
  }[direct.suite] ?? {};

// Checks that succeeded directly but not through the gateway, as reasons; a
// check that failed or warned through the gateway is already among the
// scenario's problems.
function lostChecks(name) {
  const before = direct.scenarios[name]?.checks ?? {};
  const after = gateway.scenarios[name]?.checks ?? {};
  const lost = Object.keys(before).filter(
    (id) =>
      before[id].status === 'SUCCESS' &&
      after[id]?.status !== 'SUCCESS' &&
      after[id]?.status !== 'FAILURE' &&
      after[id]?.status !== 'WARNING' &&
      !(after[id]?.status === 'INFO' && acceptedLoss(name, id)),
  );
  const skipped = lost.filter((id) => after[id]);
  const missing = lost.filter((id) => !after[id]);
  return [
    ...skipped.map((id) => `${after[id].status} ${id} (SUCCESS directly): ${after[id].message}`),
    ...(missing.length > 0 ? [`NOT RUN (SUCCESS directly): ${missing.join(', ')}`] : []),
  ];
}

// Ids of the checks that did not succeed through the gateway although they did directly.
function lostIds(name) {
  const before = direct.scenarios[name]?.checks ?? {};
  const after = gateway.scenarios[name]?.checks ?? {};
  return Object.keys(before).filter(
    (id) =>
      before[id].status === 'SUCCESS' &&
      after[id]?.status !== 'SUCCESS' &&
      !(after[id]?.status === 'INFO' && acceptedLoss(name, id)),
  );
}

// Accepted differences (see ACCEPTED) that occurred in this run.
function acceptedDifferences() {
  const found = {};
  for (const [name, ids] of Object.entries(ACCEPTED)) {
    for (const [id, why] of Object.entries(ids)) {
      const before = direct.scenarios[name]?.checks?.[id]?.status;
      const after = gateway.scenarios[name]?.checks?.[id]?.status;
      if (before === 'SUCCESS' && after === 'INFO') (found[name] ??= []).push(`${id}: ${why}`);
    }
  }
  return found;
}

function reasons(results, name) {
  const result = results.scenarios[name];
  if (!result) return ['not run'];
  return result.problems.map((problem) => `${problem.status} ${problem.check}: ${problem.message}`);
}

const passesDirectly = (name) => direct.scenarios[name]?.result === 'pass';
const passesThroughGateway = (name) =>
  gateway.scenarios[name]?.result === 'pass' && lostChecks(name).length === 0;

const directPasses = scenarios.filter(passesDirectly);
const gatewayPasses = scenarios.filter(passesThroughGateway);
const lostThroughGateway = scenarios.filter(
  (name) => passesDirectly(name) && !passesThroughGateway(name),
);
// A scenario lost only to known gateway defects; every lost check is listed.
const knownOnly = (name) => {
  const lost = lostIds(name);
  const problems = (gateway.scenarios[name]?.problems ?? []).map((problem) => problem.check);
  return (
    lost.length > 0 &&
    [...lost, ...problems].every((id) => KNOWN_GATEWAY_GAPS[name]?.[id])
  );
};
const regressions = Object.fromEntries(
  lostThroughGateway
    .filter((name) => !knownOnly(name))
    .map((name) => [name, [...reasons(gateway, name), ...lostChecks(name)]]),
);
const knownGaps = Object.fromEntries(
  lostThroughGateway
    .filter(knownOnly)
    .map((name) => [name, lostIds(name).map((id) => `${id}: ${KNOWN_GATEWAY_GAPS[name][id]}`)]),
);
// Listed gaps that did not show: the gateway got better, or the entry is wrong.
const staleGaps = Object.entries(KNOWN_GATEWAY_GAPS).flatMap(([name, ids]) =>
  Object.keys(ids)
    .filter((id) => !lostIds(name).includes(id))
    .map((id) => `${name}: ${id}`),
);
const bothFail = Object.fromEntries(
  scenarios
    .filter((name) => !passesDirectly(name) && !passesThroughGateway(name))
    .map((name) => [name, reasons(direct, name)]),
);
const onlyGateway = scenarios.filter((name) => !passesDirectly(name) && passesThroughGateway(name));
const failsDirectly = scenarios.filter((name) => !passesDirectly(name));
const allowedDirectFailures = Object.fromEntries(
  failsDirectly
    .filter((name) => ALLOWED_DIRECT_FAILURES[name])
    .map((name) => [name, [`allowed: ${ALLOWED_DIRECT_FAILURES[name]}`, ...reasons(direct, name)]]),
);
const directFailures = Object.fromEntries(
  failsDirectly
    .filter((name) => !ALLOWED_DIRECT_FAILURES[name])
    .map((name) => [name, reasons(direct, name)]),
);

const comparison = {
  suite: direct.suite,
  scenarios: scenarios.length,
  passDirectly: directPasses,
  passThroughGateway: gatewayPasses,
  regressions,
  knownGatewayGaps: knownGaps,
  staleKnownGatewayGaps: staleGaps,
  failBoth: bothFail,
  passOnlyThroughGateway: onlyGateway,
  failDirectlyNotAllowed: Object.keys(directFailures),
  acceptedDifferences: acceptedDifferences(),
};
writeFileSync(comparisonFile, `${JSON.stringify(comparison, null, 2)}\n`);

function list(title, names) {
  console.log(`${title}:`);
  console.log(names.length > 0 ? names.map((name) => `  ${name}`).join('\n') : '  (none)');
}
function explained(title, table) {
  const names = Object.keys(table);
  if (names.length === 0) return;
  console.log(`\n${title} (${names.length}):`);
  for (const name of names) {
    console.log(`  ${name}`);
    for (const reason of table[name]) console.log(`      ${reason}`);
  }
}

console.log(`\n${direct.suite}: ${scenarios.length} server scenarios\n`);
list(`Pass directly (${directPasses.length}/${scenarios.length})`, directPasses);
list(`Pass through the gateway (${gatewayPasses.length}/${scenarios.length})`, gatewayPasses);
explained('Fail directly, allowed (ALLOWED_DIRECT_FAILURES in compare.mjs)', allowedDirectFailures);
explained('Accepted differences (pass)', comparison.acceptedDifferences);
if (onlyGateway.length > 0) list('\nPass only through the gateway', onlyGateway);
explained(
  'Pass directly, fail through the gateway for known gateway defects only (KNOWN_GATEWAY_GAPS in compare.mjs)',
  knownGaps,
);
explained('Pass directly but FAIL through the gateway', regressions);
if (staleGaps.length > 0) {
  list('\nKNOWN_GATEWAY_GAPS entries that no longer fail (remove them from compare.mjs)', staleGaps);
}
explained(
  'FAIL directly: the fixture is broken (not in ALLOWED_DIRECT_FAILURES in compare.mjs)',
  directFailures,
);
if (
  Object.keys(regressions).length > 0 ||
  Object.keys(directFailures).length > 0 ||
  staleGaps.length > 0
) {
  process.exit(1);
}
const allowed = Object.keys(allowedDirectFailures).length;
const known = Object.keys(knownGaps).length;
console.log(
  `\nEvery scenario passes directly${allowed > 0 ? ` except ${allowed} allowed to fail` : ''}, ` +
    'and every scenario that passes directly also passes through the gateway' +
    (known > 0 ? `, except ${known} lost to known gateway defects only.` : '.'),
);

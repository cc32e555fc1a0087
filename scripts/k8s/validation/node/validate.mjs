// Validates Kubernetes objects of the Gateway API and Istio against their CRD schemas, as
// compiled by the pinned @kubernetes-models packages. Reads one JSON array of objects on
// stdin; writes one JSON array on stdout, an entry per object: {"schema": "...", "problems":
// [...]} or {"schema": null} when no package here knows the kind. (The compiled schemas
// check types, enums, patterns, bounds and required fields; unknown fields are not reported.)

const PACKAGES = {
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "networking.istio.io": "@kubernetes-models/istio",
  "security.istio.io": "@kubernetes-models/istio",
};

async function validate(object) {
  const [group, version] = String(object.apiVersion ?? "").split("/");
  const pkg = PACKAGES[group];
  if (!pkg || !version || !/^[A-Za-z]+$/.test(object.kind ?? "")) {
    return { schema: null };
  }
  const path = `${pkg}/${group}/${version}/${object.kind}`;
  let Model;
  try {
    Model = (await import(path))[object.kind];
  } catch {
    return { schema: null };
  }
  const schema = `${pkg.split("/")[1]} ${group}/${version} ${object.kind} schema`;
  try {
    new Model(object).validate();
    return { schema, problems: [] };
  } catch (error) {
    return { schema, problems: String(error.message ?? error).split("\n").filter(Boolean) };
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const object of JSON.parse(input)) results.push(await validate(object));
process.stdout.write(JSON.stringify(results));

/**
 * A starting text for each manifest kind ("New manifest"): valid as it is, with the keys a person
 * changes first (docs/manifests.md, "Kinds"). Workflows are written on the Workflows screen.
 */
export const NEW_KINDS = ['Tool', 'Agent', 'Relic', 'Monument', 'Kata'] as const;
export type NewKind = (typeof NEW_KINDS)[number];

export const TEMPLATES: Readonly<Record<NewKind, string>> = {
  Tool: `kind: Tool
name: my.tool
version: 1.0.0
description: What this tool does.
runner: transform
parameters:
  message: { type: string, required: true }
transform:
  expression: "{ echoed: params.message }"
`,
  Agent: `kind: Agent
name: my-agent
version: 1.0.0
persona: |
  You help with one clear task.
model: { name: gpt-4o-mini }
tools: []
maxTurns: 4
`,
  Relic: `kind: Relic
name: my-service
version: 1.0.0
endpoints:
  api: "http://127.0.0.1:8080/api"
health:
  url: "http://127.0.0.1:8080/healthz"
  every: 30s
  timeout: 5s
`,
  Monument: `kind: Monument
name: my-monument
version: 1.0.0
components:
  - { kind: Relic, name: my-service }
startOrder:
  - my-service
`,
  Kata: `kind: Kata
name: my-kata
version: 1.0.0
description: A packaged workflow.
workflow: hello
tags: [example]
`,
};

/** The route item of a manifest (`Tool/runner.deploy`) and back. */
export function manifestItem(kind: string, name: string): string {
  return `${kind}/${name}`;
}

export function parseItem(item: string): { kind: string; name: string } | null {
  const i = item.indexOf('/');
  return i > 0 ? { kind: item.slice(0, i), name: item.slice(i + 1) } : null;
}

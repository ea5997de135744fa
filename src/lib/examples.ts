/**
 * Example workflows the library can install in one click. All but one run offline with the
 * built-in runners (transform, http against this app's own origin, demo.sleep, demo.flaky) and the
 * wait / approval / decision step types; `research-notes` is an agent and needs an LLM provider
 * (Settings → LLM providers, e.g. a local Ollama).
 */

export interface Example {
  readonly name: string;
  readonly title: string;
  readonly source: string;
  /** Runs llm/agent steps: its run form asks for a `model` of a configured provider. */
  readonly needsProvider?: true;
}

const hello = `# A transform chain: shape an input into a greeting, then measure it.
name: hello
version: 1.0.0
description: Greet someone with a chain of transform steps.
inputs:
  who:
    type: string
    required: true
    default: world
    description: Who to greet.
  shout:
    type: boolean
    default: false
steps:
  - id: greeting
    type: task
    runner: transform
    with:
      value: "Hello, {{ inputs.who }}!"
  - id: shaped
    type: task
    runner: transform
    dependsOn: [greeting]
    with:
      value:
        text: "{{ steps.greeting.output }}"
        length: "{{ len(steps.greeting.output) }}"
        shout: "{{ inputs.shout }}"
outputs:
  message: "{{ steps.shaped.output.text }}"
`;

const httpSelf = `# The http runner against this app's own origin (pinned as env.origin when the session starts).
name: http-self
version: 1.0.0
description: Fetch this app's web manifest over HTTP and report the status.
steps:
  - id: fetch
    type: task
    runner: http
    with:
      method: GET
      url: "{{ env.origin }}/manifest.webmanifest"
    timeout: 10s
    retry: { maxAttempts: 2, initialDelay: 1s }
outputs:
  status: "{{ steps.fetch.output.status }}"
`;

const decision = `# A decision picks a branch; the slow branch waits 3 seconds (a durable timer).
name: decide-and-wait
version: 1.0.0
description: Take the quick branch or wait 3 seconds, then summarise.
inputs:
  hurry:
    type: boolean
    default: false
    description: Take the quick branch.
steps:
  - id: choose
    type: decision
    if: inputs.hurry == true
    then: quick
    else: [pause]
  - id: quick
    type: task
    runner: transform
    with:
      value: quick
  - id: pause
    type: wait
    duration: 3s
  - id: summary
    type: task
    runner: transform
    dependsOn: [quick, pause]
    join: any
    with:
      value: "{{ steps.choose.output.branch }}"
outputs:
  branch: "{{ steps.summary.output }}"
`;

const approval = `# The session waits for a person, then uses the approval comment.
name: approval
version: 1.0.0
description: Ask for approval, then build a release note from the comment.
inputs:
  release:
    type: string
    default: "1.0.0"
steps:
  - id: sign_off
    type: approval
    prompt: "Ship release {{ inputs.release }}?"
  - id: note
    type: task
    runner: transform
    dependsOn: [sign_off]
    with:
      value: "Release {{ inputs.release }} approved by {{ steps.sign_off.output.by }}: {{ steps.sign_off.output.comment }}"
outputs:
  note: "{{ steps.note.output }}"
`;

const retry = `# demo.flaky fails twice; the retry policy gets it through on the third attempt.
name: retry
version: 1.0.0
description: A flaky step that succeeds on its third attempt.
steps:
  - id: flaky
    type: task
    runner: demo.flaky
    with:
      failTimes: 2
      value: finally
    retry:
      maxAttempts: 3
      initialDelay: 1s
  - id: done
    type: task
    runner: transform
    dependsOn: [flaky]
    with:
      value: "succeeded on attempt {{ steps.flaky.output.attempt }}"
outputs:
  result: "{{ steps.done.output }}"
`;

const slow = `# Three 2-second sleeps in a row: watch the live timeline (and reload mid-run).
name: slow
version: 1.0.0
description: Three demo.sleep steps of 2 seconds each.
steps:
  - id: first
    type: task
    runner: demo.sleep
    with: { ms: 2000, value: 1 }
  - id: second
    type: task
    runner: demo.sleep
    dependsOn: [first]
    with: { ms: 2000, value: 2 }
  - id: third
    type: task
    runner: demo.sleep
    dependsOn: [second]
    with: { ms: 2000, value: 3 }
outputs:
  total: "{{ steps.first.output.value + steps.second.output.value + steps.third.output.value }}"
`;

const research = `# An agent (needs an LLM provider: Settings → LLM providers, e.g. a local Ollama).
# It searches the Forest, writes a note, and answers in a fixed shape; every turn and tool call
# is on the session page. Run it twice: the second run reads the first one's note and summary.
name: research-notes
version: 1.0.0
description: An agent researches a topic in the Forest and keeps a note of what it found.
inputs:
  topic: { type: string, default: canary deployments, description: What to research. }
  model: { type: string, required: true, description: "provider/model, e.g. ollama/llama3.1" }
steps:
  - id: research
    type: agent
    model: "{{ inputs.model }}"
    maxTurns: 6
    tools: [forest.search, forest.write]
    context:
      earlier: { history: { topK: 3, budget: 1500 } }
    system: You research with the Forest knowledge graph. Search before you write; keep notes short.
    prompt: |
      Topic: {{ inputs.topic }}
      Earlier runs of this workflow:
      {{ context.earlier }}
      Search the Forest for what is known, write one note that adds to it, then answer.
    outputSchema:
      type: object
      required: [summary]
      properties:
        summary: { type: string }
        sources: { type: array, items: { type: string } }
outputs:
  summary: "{{ steps.research.output.json.summary }}"
`;

export const EXAMPLES: readonly Example[] = [
  { name: 'hello', title: 'Hello (transform chain)', source: hello },
  { name: 'http-self', title: 'HTTP to this app', source: httpSelf },
  { name: 'decide-and-wait', title: 'Decision and a 3 s wait', source: decision },
  { name: 'approval', title: 'Approval, then a transform', source: approval },
  { name: 'retry', title: 'Retry a flaky step', source: retry },
  { name: 'slow', title: 'Slow (3 × 2 s)', source: slow },
  { name: 'research-notes', title: 'Agent: research notes (needs an LLM provider)', source: research, needsProvider: true },
];

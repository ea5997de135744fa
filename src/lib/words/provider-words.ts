/**
 * "Test connection" outcomes (KingdomApi.testProvider, worker/engine/llm/probe.ts) in words: the
 * model and the time when it answered, else what failed and what to do. Pure module.
 *
 * Invariant: a failure sentence names no code and ends with what to do (ACTION_VERBS).
 */
import type { ProbeOutcome } from '../../../worker/api.ts';

export function probeSentence(o: ProbeOutcome, where: { readonly baseUrl: string; readonly origin: string }): string {
  if (o.ok) return `Connected — ${o.model} answered in ${o.latencyMs} ms.`;
  const http = o.status !== undefined ? ` (HTTP ${o.status})` : '';
  switch (o.kind) {
    case 'auth':
      return `The provider refused the key${http}. Check the API key: edit the provider, type the key again, save, and test again.`;
    case 'unreachable':
      return `Kingdom could not reach ${where.baseUrl}. Check the address and that the server is running, and that it allows requests from ${where.origin} (CORS), then test again.`;
    case 'model_unknown':
      return `The provider does not know the model “${o.model}”${http}. Pick another model (edit the provider’s model list) and test again.`;
    case 'not_found':
      return `The address answered “not found”${http}. Check the base URL (an OpenAI-compatible server’s usually ends in /v1) and test again.`;
    case 'timeout':
      return 'No answer in time. Check that the server is running and not overloaded (a local model may still be loading), then test again.';
    case 'rate_limit':
      return `The provider is limiting requests, or the quota is used up${http}. Wait a minute and test again, or check the plan with the provider.`;
    case 'refused':
      return `The provider refused the request${http}. Check the base URL and the model, then test again.`;
    case 'server_error':
      return `The provider failed to answer (an error on its side${o.status !== undefined ? `, HTTP ${o.status}` : ''}). Try again in a moment.`;
  }
}

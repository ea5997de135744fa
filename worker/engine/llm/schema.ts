/**
 * Structured output helpers shared by the provider clients: what schema to send, and how to read
 * the answer back.
 *
 * Invariants:
 * 1. Providers want an object at the root of a tool / response schema: any other root (an array,
 *    a string, an enum...) is wrapped as `{ value: <schema> }` (required, closed) and the answer is
 *    unwrapped again, so the caller sees exactly the shape its own schema describes.
 * 2. `parseAnswer` accepts the JSON text, optionally inside a ``` fence; it never throws.
 */
import type { Json } from '../../kernel/errors.ts';

export type JsonSchema = { readonly [key: string]: Json };

export interface ProviderSchema {
  readonly schema: JsonSchema;
  readonly wrapped: boolean;
}

export function toProviderSchema(schema: JsonSchema): ProviderSchema {
  if (schema['type'] === 'object') return { schema, wrapped: false };
  return { schema: { type: 'object', properties: { value: schema }, required: ['value'], additionalProperties: false }, wrapped: true };
}

export type ParsedAnswer = { readonly ok: true; readonly json: Json } | { readonly ok: false; readonly error: string };

/** Parse the model's JSON answer (unwrapping `{ value }` when the schema was wrapped). */
export function parseAnswer(text: string, wrapped: boolean): ParsedAnswer {
  const trimmed = text.trim();
  const fenced = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(trimmed);
  let json: Json;
  try {
    json = JSON.parse(fenced?.[1] ?? trimmed) as Json;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, error: trimmed === '' ? 'the answer is empty, expected JSON' : `the answer is not valid JSON (${why})` };
  }
  if (!wrapped) return { ok: true, json };
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && Object.hasOwn(json, 'value')) return { ok: true, json: json['value'] ?? null };
  return { ok: false, error: 'expected an object { "value": ... } holding the answer' };
}

const STRICT_KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'description', 'title', 'anyOf',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'pattern', 'format', 'minItems', 'maxItems',
]);

/**
 * Whether OpenAI's strict structured outputs accept the schema: every object closed
 * (`additionalProperties: false`) with every property required, and only supported keywords.
 * A schema that is not strict-compatible is still sent (strict: false) and validated locally.
 */
export function isStrictCompatible(schema: Json): boolean {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return false;
  for (const key of Object.keys(schema)) if (!STRICT_KEYWORDS.has(key)) return false;
  const props = schema['properties'];
  const types = Array.isArray(schema['type']) ? schema['type'] : [schema['type']];
  if (types.includes('object')) {
    if (schema['additionalProperties'] !== false) return false;
    if (typeof props !== 'object' || props === null || Array.isArray(props)) return false;
    const required = Array.isArray(schema['required']) ? schema['required'] : [];
    if (!Object.keys(props).every((k) => required.includes(k))) return false;
  }
  if (typeof props === 'object' && props !== null && !Array.isArray(props) && !Object.values(props).every(isStrictCompatible)) return false;
  const items = schema['items'];
  if (items !== undefined && !isStrictCompatible(items)) return false;
  const anyOf = schema['anyOf'];
  if (anyOf !== undefined && !(Array.isArray(anyOf) && anyOf.every(isStrictCompatible))) return false;
  return true;
}

/** Normalised finish reasons shared by both providers. */
export function normaliseFinish(reason: string | null | undefined): string {
  switch (reason) {
    case 'stop': case 'end_turn': case 'stop_sequence': return 'stop';
    case 'length': case 'max_tokens': case 'model_context_window_exceeded': return 'length';
    case 'tool_calls': case 'function_call': case 'tool_use': return 'tool_calls';
    case 'content_filter': case 'refusal': return 'content_filter';
    case null: case undefined: case '': return 'unknown';
    default: return reason;
  }
}

/** `https://host/v1/` → `https://host/v1`. */
export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

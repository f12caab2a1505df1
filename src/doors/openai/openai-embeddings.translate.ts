// OpenAI embeddings ↔ the core's EmbedRequest and answer. Vectors go out as JSON numbers, or, for
// `encoding_format: "base64"` (what the openai SDK asks for by default), as little-endian float32 in base64.
import type { EmbeddingAnswer, EmbedRequest } from '../../modules/chat/canonical.js';
import { type Json, numberAt, stringAt, WireProblem } from './wire.js';

export interface OpenAiEmbeddingsCall {
  model: string;
  request: Omit<EmbedRequest, 'providerId' | 'model'>;
  base64: boolean;
}

export function readEmbeddingsBody(body: Json): OpenAiEmbeddingsCall {
  const { input } = body;
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || inputs.some((text) => typeof text !== 'string'))
    throw new WireProblem('input must be a string or an array of strings (token arrays are not supported)', 'input');
  const format = stringAt(body, 'encoding_format') ?? 'float';
  if (format !== 'float' && format !== 'base64') throw new WireProblem('encoding_format must be "float" or "base64"', 'encoding_format');
  const dimensions = numberAt(body, 'dimensions');
  return { model: stringAt(body, 'model', true), request: { inputs: inputs as string[], ...(dimensions !== undefined ? { dimensions } : {}) }, base64: format === 'base64' };
}

export function embeddingsResponseOf(answer: EmbeddingAnswer, base64: boolean) {
  return {
    object: 'list',
    data: answer.vectors.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector })),
    model: answer.model,
    usage: { prompt_tokens: answer.usage.promptTokens, total_tokens: answer.usage.totalTokens },
  };
}

function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, value] of vector.entries()) bytes.writeFloatLE(value, i * 4);
  return bytes.toString('base64');
}

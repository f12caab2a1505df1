// Scripted behaviour for one simulated request, chosen by the caller: the part
// of the API key after '#', or the `x-sim-script` header, in query-string form:
//   sk-test-123#status=401                 always answer 401 (Gemini: 400 API_KEY_INVALID)
//   sk-test-123#fail=503x2                 503 for the first 2 requests, then normal
//   sk-test-123#status=429&retry-after=1   429 with retry-after
//   sk-test-123#hang=1                     accept and never answer
//   sk-test-123#slow=50&chunks=20&chunk-size=8    stream 20 chunks of 8 characters, 50 ms apart
//   sk-test-123#midstream=error            an in-band error event after the first chunks
//   sk-test-123#redirect=http://10.0.0.1/  answer 302 to that URL
//   sk-test-123#reasoning=1                thinking deltas before the text
//   sk-test-123#truncate=1                 the stream stops without its terminal event
//   sk-test-123#reset=3                    the connection is reset after 3 stream frames
//   sk-test-123#stall=3                    after 3 stream frames, silence (the connection stays open)
//   sk-test-123#malformed=1                a frame that is not JSON after the first one
//   sk-test-123#usage=none                 OpenAI protocol: a complete stream that reports no usage
//   sk-test-123#completion-tokens=-5       OpenAI protocol: usage reports this completion count, whatever was sent
//   sk-test-123#tool-turns=2               with tools offered, call tools in the first 2 turns, then answer (model.ts)
//   sk-test-123#parallel=2                 two tool calls in each such turn
//   sk-test-123#cost-factor=1.5            OpenRouter protocol: usage.cost at 1.5 times the model's listed price (a price gone stale)
export interface Script {
  status?: number;
  fail?: { status: number; times: number };
  retryAfter?: number;
  hang: boolean;
  delayMs: number;
  slowMs: number;
  chunks: number;
  chunkSize: number;
  midstreamError: boolean;
  redirect?: string;
  reasoning: boolean;
  /** Stream stops without its terminal event (no usage, no [DONE] / message_stop). */
  truncate: boolean;
  /** Stream frames sent before the connection is reset. */
  resetAfter?: number;
  /** Stream frames sent before the simulator goes silent. */
  stallAfter?: number;
  malformed: boolean;
  omitUsage: boolean;
  /** Reported instead of the real completion count (a provider that misreports). */
  completionTokens?: number;
  /** Turns in which the model calls a tool (when tools are offered) before it answers with text. */
  toolTurns: number;
  /** Tool calls in each such turn. */
  parallel: number;
  /** OpenRouter's reported cost is the listed price times this. */
  costFactor: number;
  /**
   * OpenRouter answers as for an account that brings its own provider key (BYOK): `is_byok`, the upstream provider's
   * charge in `cost_details.upstream_inference_cost`, and in `cost` only OpenRouter's fee, this share of it.
   */
  byokFee?: number;
}

export function parseScript(text: string): Script {
  const params = new URLSearchParams(text);
  const number = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return params.has(name) && Number.isFinite(value) ? value : fallback;
  };
  const fail = /^(\d{3})x(\d+)$/.exec(params.get('fail') ?? '');
  return {
    status: params.has('status') ? number('status', 500) : undefined,
    fail: fail ? { status: Number(fail[1]), times: Number(fail[2]) } : undefined,
    retryAfter: params.has('retry-after') ? number('retry-after', 1) : undefined,
    hang: params.get('hang') === '1',
    delayMs: number('delay', 0),
    slowMs: number('slow', 0),
    chunks: Math.max(1, number('chunks', 4)),
    chunkSize: Math.max(1, number('chunk-size', 12)),
    midstreamError: params.get('midstream') === 'error',
    redirect: params.get('redirect') ?? undefined,
    reasoning: params.get('reasoning') === '1',
    truncate: params.get('truncate') === '1',
    resetAfter: params.has('reset') ? number('reset', 1) : undefined,
    stallAfter: params.has('stall') ? number('stall', 1) : undefined,
    malformed: params.get('malformed') === '1',
    omitUsage: params.get('usage') === 'none',
    completionTokens: params.has('completion-tokens') ? number('completion-tokens', 0) : undefined,
    toolTurns: Math.max(0, number('tool-turns', 1)),
    parallel: Math.min(8, Math.max(1, number('parallel', 1))),
    costFactor: number('cost-factor', 1),
    byokFee: params.has('byok-fee') ? number('byok-fee', 0.05) : undefined,
  };
}

/** The script carried by a key (after '#'), or '' when it carries none. */
export function scriptOfKey(key: string): string {
  const hash = key.indexOf('#');
  return hash === -1 ? '' : key.slice(hash + 1);
}

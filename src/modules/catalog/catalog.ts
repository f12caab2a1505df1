// The model catalog: what each kind offers, at which price, from the shipped
// table and its price versions, plus OpenRouter's own list when a workspace
// connects an OpenRouter key (its prices apply from the moment they are read).
import { BadUserInputError } from '../../errors.js';
import type { ProviderKind } from '../../generated/prisma/enums.js';
import { microsToUsd, usdToMicros } from '../../money.js';
import { pageSize } from '../../pagination.js';
import { searchText } from '../../text-input.js';
import { withFields } from '../../with-fields.js';
import { BASE_MODELS, BASE_PRICE_VERSION, FALLBACK_MODEL, type ModelRow, PRICE_CHANGES, type Tier } from './models.data.js';
import { type Price, type PriceQuote, usdPerTokenToMicrosPerMTok } from './pricing.js';

export interface CatalogModel {
  id: string;
  kind: ProviderKind;
  model: string;
  displayName: string;
  contextWindow: number | null;
  tier: Tier | null;
  /** What the model can do ("tools", "vision", ...); null when the catalog does not say (then nothing is refused for it). */
  capabilities: string[] | null;
  price: Price;
  priceVersion: string;
}

/** One model as OpenRouter's `/models` lists it. */
export interface OpenRouterModel {
  id: string;
  name?: string;
  context_length?: number | null;
  pricing?: { prompt?: string; completion?: string; input_cache_read?: string };
  /** The request parameters the model takes: "tools", "response_format", "structured_outputs", "reasoning", ... */
  supported_parameters?: unknown;
  architecture?: { input_modalities?: unknown };
}

/** A model with its price, as a provider's own list gives it. */
export interface ListedModel {
  model: string;
  displayName: string;
  contextWindow: number | null;
  price: Price;
  /** Null when the list does not say. */
  capabilities: string[] | null;
}

/** OpenRouter's list → priced models; rows without a readable price are left out. */
export function parseOpenRouterList(listed: OpenRouterModel[]): ListedModel[] {
  const parsed: ListedModel[] = [];
  for (const row of listed) {
    if (typeof row?.id !== 'string' || !row.id) continue;
    try {
      const input = usdPerTokenToMicrosPerMTok(row.pricing?.prompt ?? '');
      const cachedInput = row.pricing?.input_cache_read ? usdPerTokenToMicrosPerMTok(row.pricing.input_cache_read) : input;
      const price = { input, cachedInput, output: usdPerTokenToMicrosPerMTok(row.pricing?.completion ?? '') };
      parsed.push({
        model: row.id,
        displayName: typeof row.name === 'string' ? row.name : row.id,
        contextWindow: Number.isInteger(row.context_length) ? row.context_length! : null,
        price,
        capabilities: openRouterCapabilities(row),
      });
    } catch {
      // A model OpenRouter lists without a numeric price ("-1" for variable pricing, say) keeps the shipped price or the fallback.
    }
  }
  return parsed;
}

/**
 * The catalog's capabilities of a model OpenRouter lists, from the parameters and inputs it says the model takes;
 * null when it does not say (a list of another shape), so that nothing is refused for the model.
 */
function openRouterCapabilities(row: OpenRouterModel): string[] | null {
  const parameters = row.supported_parameters;
  if (!Array.isArray(parameters)) return null;
  const takes = (...names: string[]) => names.some((name) => parameters.includes(name));
  const inputs = row.architecture?.input_modalities;
  return [
    'streaming',
    ...(Array.isArray(inputs) && inputs.includes('image') ? ['vision'] : []),
    ...(takes('tools') ? ['tools'] : []),
    ...(takes('response_format', 'structured_outputs') ? ['json'] : []),
    ...(takes('reasoning', 'include_reasoning') ? ['reasoning'] : []),
  ];
}

interface PriceVersion {
  version: string;
  from: number;
  prices: Map<string, Price>;
}

const ZERO: Price = { input: 0n, cachedInput: 0n, output: 0n };
const keyOf = (kind: ProviderKind, model: string) => `${kind}:${model}`;
/** Search ignores case and punctuation: "GPT 4o" finds "gpt-4o". */
const folded = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

export function createCatalog() {
  const models = new Map<string, CatalogModel>();
  /** Lists a model of the table and returns its key and price; its price version is set once all versions are read. */
  function register(kind: ProviderKind, [model, displayName, contextWindow, input, cachedInput, output, tier, capabilities]: ModelRow): [string, Price] {
    const key = keyOf(kind, model);
    if (models.has(key)) throw new Error(`The price table lists ${key} twice`);
    const price = { input: usdToMicros(input), cachedInput: usdToMicros(cachedInput), output: usdToMicros(output) };
    models.set(key, { id: key, kind, model, displayName, contextWindow, tier, capabilities: capabilities.split(','), price, priceVersion: BASE_PRICE_VERSION });
    return [key, price];
  }
  const base = new Map<string, Price>();
  for (const [kind, rows] of Object.entries(BASE_MODELS) as Array<[ProviderKind, ModelRow[]]>) {
    for (const row of rows) base.set(...register(kind, row));
  }
  // Each version is the whole table as of its date: the previous one with its changes applied and its models added.
  const versions: PriceVersion[] = [{ version: BASE_PRICE_VERSION, from: -Infinity, prices: base }];
  for (const change of [...PRICE_CHANGES].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom))) {
    const prices = new Map(versions.at(-1)!.prices);
    for (const [kind, rows] of Object.entries(change.added ?? {}) as Array<[ProviderKind, ModelRow[]]>) {
      for (const row of rows) prices.set(...register(kind, row));
    }
    for (const [kind, rows] of Object.entries(change.models) as Array<[ProviderKind, Array<[string, string, string, string]>]>) {
      for (const [model, input, cachedInput, output] of rows) {
        const key = keyOf(kind, model);
        if (!prices.has(key)) throw new Error(`Price change ${change.version} names an unknown model ${key}`);
        prices.set(key, { input: usdToMicros(input), cachedInput: usdToMicros(cachedInput), output: usdToMicros(output) });
      }
    }
    versions.push({ version: change.version, from: Date.parse(change.effectiveFrom), prices });
  }
  const current = () => versions.at(-1)!;
  for (const [key, price] of current().prices) Object.assign(models.get(key)!, { price, priceVersion: current().version });

  /** OpenRouter's live list, in force from the moment it was read. */
  let openRouter: PriceVersion | undefined;
  let sorted: CatalogModel[] | undefined;

  function versionAt(at: Date): PriceVersion {
    const time = at.getTime();
    for (let i = versions.length - 1; i > 0; i--) if (versions[i].from <= time) return versions[i];
    return versions[0];
  }

  /** A misspelt capability ("embedding") would match nothing and look like an empty catalog: it is refused, naming the ones there are. */
  function knownCapability(name: string): string {
    const known = new Set([...models.values()].flatMap((m) => m.capabilities ?? []));
    const capability = name.toLowerCase();
    if (!known.has(capability)) throw new BadUserInputError(`capability must be one of: ${[...known].sort().join(', ')}`, 'capability');
    return capability;
  }

  return {
    /** The price in force at `at`; an unknown model is priced by its kind's fallback rule and flagged. */
    price(kind: ProviderKind, model: string, at: Date): PriceQuote {
      const key = keyOf(kind, model);
      if (openRouter && kind === 'OPENROUTER' && openRouter.from <= at.getTime()) {
        const price = openRouter.prices.get(key);
        if (price) return withFields(price, { version: openRouter.version, fallback: false });
      }
      const version = versionAt(at);
      const known = version.prices.get(key);
      if (known) return withFields(known, { version: version.version, fallback: false });
      const fallbackModel = FALLBACK_MODEL[kind];
      const fallback = fallbackModel ? version.prices.get(keyOf(kind, fallbackModel))! : ZERO;
      return withFields(fallback, { version: version.version, fallback: true });
    },

    /** Puts OpenRouter's own list (see parseOpenRouterList) in force from `from` on, replacing any earlier one. */
    applyOpenRouter(listed: ListedModel[], from: Date): void {
      const version = `openrouter:${from.toISOString()}`;
      const prices = new Map<string, Price>();
      for (const row of listed) {
        const key = keyOf('OPENROUTER', row.model);
        prices.set(key, row.price);
        const known = models.get(key);
        models.set(key, {
          id: key,
          kind: 'OPENROUTER',
          model: row.model,
          displayName: row.displayName,
          contextWindow: row.contextWindow ?? known?.contextWindow ?? null,
          tier: known?.tier ?? null,
          capabilities: row.capabilities ?? known?.capabilities ?? null,
          price: row.price,
          priceVersion: version,
        });
      }
      openRouter = { version, from: from.getTime(), prices };
      sorted = undefined;
    },

    /** The model's context window (prompt and output together), when the catalog knows it. */
    contextWindow(kind: ProviderKind, model: string): number | null {
      return models.get(keyOf(kind, model))?.contextWindow ?? null;
    },

    /** What the catalog says the model can do ("tools", "vision", ...); null when it does not list the model. */
    capabilities(kind: ProviderKind, model: string): readonly string[] | null {
      return models.get(keyOf(kind, model))?.capabilities ?? null;
    },

    /**
     * What a million tokens of `model` cost at its listed price, blended three input tokens to one output (a
     * typical chat; cached input not counted), in USD rounded to the micro-dollar; null when the catalog does not
     * list the model.
     */
    blendedUsdPerMTok(kind: ProviderKind, model: string): number | null {
      const listed = models.get(keyOf(kind, model));
      return listed ? microsToUsd((3n * listed.price.input + listed.price.output + 2n) / 4n) : null;
    },

    /** True when the catalog lists `model` for `kind`. */
    has(kind: ProviderKind, model: string): boolean {
      return models.has(keyOf(kind, model));
    },

    list(filter: { kind?: ProviderKind | null; tier?: Tier | null; capability?: string | null; search?: string | null; first: number; after?: string | null }) {
      const take = pageSize(filter.first);
      sorted ??= [...models.values()].sort((a, b) => a.id.localeCompare(b.id));
      const needle = filter.search ? folded(searchText(filter.search, 'search')) : '';
      const capability = filter.capability ? knownCapability(filter.capability) : null;
      const matching = sorted.filter(
        (m) =>
          (!filter.kind || m.kind === filter.kind) &&
          (!filter.tier || m.tier === filter.tier) &&
          (!capability || (m.capabilities?.includes(capability) ?? false)) &&
          (!needle || folded(m.id).includes(needle) || folded(m.displayName).includes(needle)),
      );
      let start = 0;
      if (filter.after) {
        const afterId = Buffer.from(filter.after, 'base64url').toString('utf8');
        if (!models.has(afterId)) throw new BadUserInputError('after is not a cursor this API gave out', 'after');
        start = matching.findIndex((m) => m.id.localeCompare(afterId) > 0);
        if (start < 0) start = matching.length;
      }
      const nodes = matching.slice(start, start + take);
      return {
        totalCount: matching.length,
        edges: nodes.map((node) => ({ cursor: Buffer.from(node.id).toString('base64url'), node })),
        pageInfo: { hasNextPage: start + take < matching.length, endCursor: nodes.length ? Buffer.from(nodes.at(-1)!.id).toString('base64url') : null },
      };
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;

// The routing strategies as the settings and the agents' preferences offer them.
import type { RoutingStrategy } from './generated/graphql.js';

export const STRATEGIES: Array<[RoutingStrategy, string]> = [
  ['PRIORITY', 'By priority (the configured order)'],
  ['CHEAPEST', 'Cheapest able to serve the call first'],
  ['FASTEST', 'Fastest first token first (health window)'],
];

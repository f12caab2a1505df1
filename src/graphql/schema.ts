// Imports every module's GraphQL file (for their side effect on the builder) and builds the schema.
import '../auth/viewer.graphql.js';
import '../modules/alerts/alert-channel.graphql.js';
import '../modules/alerts/alerts.graphql.js';
import '../modules/apikeys/api-key.graphql.js';
import '../modules/audit/audit.graphql.js';
import '../modules/catalog/catalog.graphql.js';
import '../modules/chat/chat.graphql.js';
import '../modules/chat/embed.graphql.js';
import '../modules/preferences/preferences.graphql.js';
import '../modules/providers/provider.graphql.js';
import '../modules/usage/usage.graphql.js';
import { builder } from './builder.js';

export const schema = builder.toSchema({ sortSchema: false });
